// /api/drafts: letters and texts being written, kept encrypted in the
// profile so nothing written at 2 a.m. is lost.

#include <string>

#include "api.h"

namespace sotto::desk {

void AddDraftRoutes(Api& api) {
  const auto unbuilt = [](Client&, const httplib::Request&,
                          const Json&) -> absl::StatusOr<std::string> {
    return absl::UnimplementedError("drafts are not built yet (Client::SaveDraft)");
  };
  api.Route("GET", "/api/drafts", unbuilt);
  api.Route("PUT", R"(/api/drafts/([0-9a-f]{16}))", unbuilt);
  api.Route("DELETE", R"(/api/drafts/([0-9a-f]{16}))", unbuilt);
}

}  // namespace sotto::desk
