// The C API over sotto::Client's devices (sotto/devices.h): list, remove.

#include <memory>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "client-lib/capi/capi_internal.h"

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

namespace {

// A NULL device reads as an empty one, as everywhere in the C API.
const sotto::DeviceEntry& D(const sotto_device* d) {
  static const sotto::DeviceEntry* const kEmpty = new sotto::DeviceEntry();
  return d == nullptr ? *kEmpty : d->device;
}

int64_t Ms(const std::optional<absl::Time>& t) { return t ? absl::ToUnixMillis(*t) : 0; }

}  // namespace

uint32_t sotto_device_id(const sotto_device* d) { return D(d).device_id; }
const char* sotto_device_name(const sotto_device* d) { return Str(D(d).name); }
int64_t sotto_device_linked_at_ms(const sotto_device* d) { return Ms(D(d).linked_at); }
int64_t sotto_device_last_seen_hour_ms(const sotto_device* d) { return Ms(D(d).last_seen_hour); }
int sotto_device_is_this_device(const sotto_device* d) { return D(d).this_device ? 1 : 0; }

size_t sotto_device_list_count(const sotto_device_list* l) {
  return l == nullptr ? 0 : l->items.size();
}
const sotto_device* sotto_device_list_get(const sotto_device_list* l, size_t i) {
  return l == nullptr || i >= l->items.size() ? nullptr : &l->items[i];
}
void sotto_device_list_free(sotto_device_list* l) { delete l; }

int sotto_list_devices(sotto_client* client, sotto_device_list** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(std::vector<sotto::DeviceEntry> devices, c->ListDevices());
    auto list = std::make_unique<sotto_device_list>();
    for (sotto::DeviceEntry& d : devices) list->items.push_back({std::move(d)});
    *out = list.release();
    return absl::OkStatus();
  });
}

int sotto_remove_device(sotto_client* client, uint32_t device_id, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    return c->RemoveDevice(device_id);
  });
}
