#include "qr.h"

#include <qrencode.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sotto::cli {
namespace {

// Byte mode at level M holds 2,331 bytes in version 40; refuse more up front
// so that the error names the size rather than libqrencode's ERANGE.
constexpr size_t kMaxQrBytes = 2331;
constexpr int kSvgQuietZone = 4;
constexpr int kTerminalQuietZone = 2;

struct QrFree {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

// The modules, row by row: true = dark.
struct Modules {
  int width = 0;
  std::vector<bool> dark;
  bool At(int x, int y) const {
    if (x < 0 || y < 0 || x >= width || y >= width) return false;
    return dark[static_cast<size_t>(y) * width + x];
  }
};

absl::StatusOr<Modules> Encode(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("QR code: the text is empty");
  if (text.size() > kMaxQrBytes) {
    return absl::InvalidArgumentError(absl::StrCat("QR code: the text is ", text.size(),
                                                   " bytes, more than a QR code holds (",
                                                   kMaxQrBytes, ")"));
  }
  // encodeData, not encodeString: byte mode for any text (a NUL included)
  // and no guessing of modes, so the result depends on the bytes alone.
  std::unique_ptr<QRcode, QrFree> code(
      QRcode_encodeData(static_cast<int>(text.size()),
                        reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M));
  if (code == nullptr) {
    return absl::InternalError("QR code: libqrencode could not encode the text");
  }
  Modules m;
  m.width = code->width;
  m.dark.resize(static_cast<size_t>(m.width) * m.width);
  for (size_t i = 0; i < m.dark.size(); ++i) m.dark[i] = (code->data[i] & 1) != 0;
  return m;
}

}  // namespace

absl::StatusOr<std::string> QrSvg(absl::string_view text) {
  absl::StatusOr<Modules> m = Encode(text);
  if (!m.ok()) return m.status();
  const int size = m->width + 2 * kSvgQuietZone;
  std::string path;
  for (int y = 0; y < m->width; ++y) {
    for (int x = 0; x < m->width; ++x) {
      if (m->At(x, y)) {
        absl::StrAppend(&path, "M", x + kSvgQuietZone, " ", y + kSvgQuietZone, "h1v1h-1z");
      }
    }
  }
  return absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", size, " ", size,
                      "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
                      "<rect width=\"",
                      size, "\" height=\"", size, "\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                      path, "\"/></svg>");
}

absl::StatusOr<std::string> QrTerminal(absl::string_view text) {
  absl::StatusOr<Modules> m = Encode(text);
  if (!m.ok()) return m.status();
  // Light is drawn (the block), dark is the terminal's background: on the
  // usual dark terminal that gives dark modules on light, as scanners want.
  const int from = -kTerminalQuietZone;
  const int to = m->width + kTerminalQuietZone;
  std::string out;
  for (int y = from; y < to; y += 2) {
    for (int x = from; x < to; ++x) {
      const bool top_light = !m->At(x, y);
      const bool bottom_light = y + 1 < to && !m->At(x, y + 1);
      if (top_light && bottom_light) {
        out += "\u2588";
      } else if (top_light) {
        out += "\u2580";
      } else if (bottom_light) {
        out += "\u2584";
      } else {
        out += " ";
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace sotto::cli
