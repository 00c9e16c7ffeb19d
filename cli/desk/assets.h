#ifndef SOTTO_CLI_DESK_ASSETS_H_
#define SOTTO_CLI_DESK_ASSETS_H_

// The page of `sotto desk` (desk/web/), compiled into the binary by
// embed_assets.cmake: nothing is read from disk or fetched from elsewhere at
// run time, so the page works with no network but the Sotto server.

#include <cstddef>

#include "absl/strings/string_view.h"

namespace sotto::desk {

struct Asset {
  const char* path;          // "/index.html", "/js/app.js"
  const char* content_type;  // from the file's extension
  const unsigned char* data;
  size_t size;
};

// Every file of desk/web/, ended by an entry whose path is null (generated).
extern const Asset kAssets[];

// The asset served at `path` ("/" is "/index.html"); null when none.
const Asset* FindAsset(absl::string_view path);

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_ASSETS_H_
