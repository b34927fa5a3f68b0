#include "experiments/plot.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl::plot {
namespace {

constexpr int kMarginLeft = 58, kMarginRight = 16, kMarginTop = 30, kMarginBottom = 44;
const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// "Nice" tick positions covering [lo, hi].
std::vector<double> Ticks(double lo, double hi, int target = 5) {
  std::vector<double> t;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(std::abs(v) < 1e-12 ? 0 : v);
  return t;
}

std::string TickLabel(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e4 || a < 1e-3) return fmt::format("{:.1e}", v);
  if (a >= 100 || std::abs(v - std::round(v)) < 1e-9) return fmt::format("{:.0f}", v);
  if (a >= 1) return fmt::format("{:.1f}", v);
  return fmt::format("{:.3g}", v);
}

void FillRange(const std::vector<double>& v, double* lo, double* hi) {
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    *lo = std::min(*lo, x);
    *hi = std::max(*hi, x);
  }
}

// Maps data to pixels inside one panel placed at (ox, oy) of size (w, h).
struct Frame {
  double ox, oy, w, h, x0, x1, y0, y1;
  double X(double x) const { return ox + kMarginLeft + (x - x0) / (x1 - x0) * (w - kMarginLeft - kMarginRight); }
  double Y(double y) const { return oy + h - kMarginBottom - (y - y0) / (y1 - y0) * (h - kMarginTop - kMarginBottom); }
};

Frame MakeFrame(double ox, double oy, double w, double h, const Axes& a, double dx0, double dx1, double dy0,
                double dy1) {
  Frame f{ox, oy, w, h, a.x_min, a.x_max, a.y_min, a.y_max};
  if (!(f.x1 > f.x0)) {
    f.x0 = dx0;
    f.x1 = dx1;
  }
  if (!(f.y1 > f.y0)) {
    f.y0 = dy0;
    f.y1 = dy1;
    if (!(f.y1 > f.y0)) {  // a flat series: centre it
      const double half = std::max(0.5, 0.1 * std::abs(f.y0));
      f.y0 -= half;
      f.y1 += half;
    }
    const double pad = 0.05 * (f.y1 - f.y0);
    f.y0 -= pad;
    f.y1 += pad;
  }
  if (!(f.x1 > f.x0)) f.x1 = f.x0 + 1;
  if (!(f.y1 > f.y0)) f.y1 = f.y0 + 1;
  return f;
}

void DrawAxes(std::ostringstream& o, const Frame& f, const Axes& a) {
  const double left = f.ox + kMarginLeft, right = f.ox + f.w - kMarginRight;
  const double top = f.oy + kMarginTop, bottom = f.oy + f.h - kMarginBottom;
  o << fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='none' stroke='#444'/>\n", left,
                   top, right - left, bottom - top);
  for (double t : Ticks(f.x0, f.x1)) {
    const double x = f.X(t);
    o << fmt::format("<line x1='{0:.1f}' y1='{1:.1f}' x2='{0:.1f}' y2='{2:.1f}' stroke='#ddd'/>\n", x, top, bottom);
    o << fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='11' text-anchor='middle'>{}</text>\n", x, bottom + 14,
                     TickLabel(t));
  }
  for (double t : Ticks(f.y0, f.y1)) {
    const double y = f.Y(t);
    o << fmt::format("<line x1='{0:.1f}' y1='{1:.1f}' x2='{2:.1f}' y2='{1:.1f}' stroke='#ddd'/>\n", left, y, right);
    o << fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='11' text-anchor='end'>{}</text>\n", left - 4, y + 4,
                     TickLabel(t));
  }
  o << fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='13' text-anchor='middle' font-weight='bold'>{}</text>\n",
                   (left + right) / 2, f.oy + 18, Escape(a.title));
  o << fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='12' text-anchor='middle'>{}</text>\n", (left + right) / 2,
                   f.oy + f.h - 8, Escape(a.x_label));
  o << fmt::format("<text x='{0:.1f}' y='{1:.1f}' font-size='12' text-anchor='middle' "
                   "transform='rotate(-90 {0:.1f} {1:.1f})'>{2}</text>\n",
                   f.ox + 14, (top + bottom) / 2, Escape(a.y_label));
}

void Write(const std::string& path, double width, double height, const std::string& body) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(path);
  if (!out) throw Unavailable(fmt::format("cannot write plot '{}'", path));
  out << fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{0:.0f}' height='{1:.0f}' "
                     "viewBox='0 0 {0:.0f} {1:.0f}' font-family='sans-serif'>\n"
                     "<rect width='100%' height='100%' fill='white'/>\n",
                     width, height)
      << body << "</svg>\n";
  if (!out) throw Unavailable(fmt::format("could not finish writing plot '{}'", path));
}

void ColorBar(std::ostringstream& o, double x, double top, double bottom, double lo, double hi, const std::string& label) {
  const int steps = 32;
  const double h = (bottom - top) / steps;
  for (int i = 0; i < steps; ++i) {
    o << fmt::format("<rect x='{:.1f}' y='{:.1f}' width='10' height='{:.2f}' fill='{}'/>\n", x, bottom - (i + 1) * h,
                     h + 0.5, ColorMap((i + 0.5) / steps));
  }
  o << fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10'>{}</text>\n", x + 13, bottom, TickLabel(lo));
  o << fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10'>{}</text>\n", x + 13, top + 8, TickLabel(hi));
  o << fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10'>{}</text>\n", x - 2, top - 6, Escape(label));
}

}  // namespace

std::string ColorMap(double t) {
  // Piecewise-linear through five viridis-like anchors.
  static const double kAnchors[5][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(t));
  const double u = t - i;
  int c[3];
  for (int k = 0; k < 3; ++k) c[k] = static_cast<int>(std::lround(kAnchors[i][k] + u * (kAnchors[i + 1][k] - kAnchors[i][k])));
  return fmt::format("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
}

std::string PaletteColor(std::size_t k) { return kPalette[k % 8]; }

void WriteLinePlot(const std::string& path, const std::vector<LinePanel>& panels, int pw, int ph) {
  std::ostringstream o;
  // The legend goes under the axes (two columns), so it never hides a curve.
  // Unnamed series get no legend entry.
  size_t most = 0;
  for (const auto& p : panels) {
    size_t named = 0;
    for (const Series& s : p.series) named += s.name.empty() ? 0 : 1;
    most = std::max(most, named);
  }
  const int legend_rows = static_cast<int>((most + 1) / 2);
  const int legend_h = legend_rows > 0 ? 8 + 15 * legend_rows : 0;
  for (size_t p = 0; p < panels.size(); ++p) {
    const LinePanel& panel = panels[p];
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
    for (const Series& s : panel.series) {
      FillRange(s.x, &x0, &x1);
      for (size_t i = 0; i < s.y.size(); ++i) {
        const double b = i < s.band.size() && std::isfinite(s.band[i]) ? s.band[i] : 0.0;
        FillRange({s.y[i] - b, s.y[i] + b}, &y0, &y1);
      }
    }
    if (!std::isfinite(x0)) x0 = 0, x1 = 1;
    if (!std::isfinite(y0)) y0 = 0, y1 = 1;
    const Frame f = MakeFrame(static_cast<double>(p) * pw, 0, pw, ph, panel.axes, x0, x1, y0, y1);
    DrawAxes(o, f, panel.axes);
    size_t legend_k = 0;
    for (size_t k = 0; k < panel.series.size(); ++k) {
      const Series& s = panel.series[k];
      const std::string color = s.color.empty() ? PaletteColor(k) : s.color;
      // Band first (under the line).
      if (!s.band.empty()) {
        std::string up, down;
        for (size_t i = 0; i < s.x.size() && i < s.y.size() && i < s.band.size(); ++i) {
          if (!std::isfinite(s.y[i]) || !std::isfinite(s.band[i])) continue;
          up += fmt::format("{:.1f},{:.1f} ", f.X(s.x[i]), f.Y(std::min(f.y1, s.y[i] + s.band[i])));
          down = fmt::format("{:.1f},{:.1f} ", f.X(s.x[i]), f.Y(std::max(f.y0, s.y[i] - s.band[i]))) + down;
        }
        if (!up.empty()) {
          o << fmt::format("<polygon points='{}{}' fill='{}' fill-opacity='0.18' stroke='none'/>\n", up, down, color);
        }
      }
      std::string pts;
      auto flush = [&] {
        if (!pts.empty()) {
          o << fmt::format("<polyline points='{}' fill='none' stroke='{}' stroke-width='1.8'/>\n", pts, color);
        }
        pts.clear();
      };
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) {
          flush();
          continue;
        }
        pts += fmt::format("{:.1f},{:.1f} ", f.X(s.x[i]), f.Y(std::clamp(s.y[i], f.y0, f.y1)));
      }
      flush();
      // Legend entry, under the panel.
      if (s.name.empty()) continue;
      const size_t slot = legend_k++;
      const double lx = f.ox + 12 + static_cast<double>(slot % 2) * (pw / 2.0);
      const double ly = ph + 14 + 15.0 * static_cast<double>(slot / 2);
      o << fmt::format("<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='{}' stroke-width='2.5'/>\n", lx,
                       ly - 4, lx + 16, ly - 4, color);
      o << fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='11'>{}</text>\n", lx + 20, ly, Escape(s.name));
    }
  }
  Write(path, static_cast<double>(pw) * std::max<size_t>(1, panels.size()), ph + legend_h, o.str());
}

void WriteScatterPlot(const std::string& path, const std::vector<ScatterPanel>& panels, int pw, int ph) {
  std::ostringstream o;
  const int bar = 60;  // room for the colour bar
  for (size_t p = 0; p < panels.size(); ++p) {
    const ScatterPanel& s = panels[p];
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0, v0 = x0, v1 = -x0;
    FillRange(s.x, &x0, &x1);
    FillRange(s.y, &y0, &y1);
    FillRange(s.value, &v0, &v1);
    if (!std::isfinite(x0)) x0 = 0, x1 = 1;
    if (!std::isfinite(y0)) y0 = 0, y1 = 1;
    if (!std::isfinite(v0)) v0 = 0, v1 = 1;
    const Frame f = MakeFrame(static_cast<double>(p) * (pw + bar), 0, pw, ph, s.axes, x0, x1, y0, y1);
    DrawAxes(o, f, s.axes);
    const double span = v1 > v0 ? v1 - v0 : 1.0;
    for (size_t i = 0; i < s.x.size() && i < s.y.size() && i < s.value.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || !std::isfinite(s.value[i])) continue;
      o << fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='2.6' fill='{}' fill-opacity='0.85'/>\n", f.X(s.x[i]),
                       f.Y(s.y[i]), ColorMap((s.value[i] - v0) / span));
    }
    ColorBar(o, f.ox + pw + 8, f.oy + kMarginTop + 10, f.oy + ph - kMarginBottom, v0, v1, s.value_label);
  }
  Write(path, static_cast<double>(pw + bar) * std::max<size_t>(1, panels.size()), ph, o.str());
}

void WriteHeatmaps(const std::string& path, const std::vector<HeatmapPanel>& panels, int size) {
  std::ostringstream o;
  double vmax = 0;
  for (const auto& p : panels) {
    HILSERL_CHECK(static_cast<int>(p.values.size()) == p.nx * p.ny, "heatmap values do not fill the grid");
    for (double v : p.values) vmax = std::max(vmax, v);
  }
  if (!(vmax > 0)) vmax = 1;
  for (size_t k = 0; k < panels.size(); ++k) {
    const HeatmapPanel& p = panels[k];
    const Frame f = MakeFrame(static_cast<double>(k) * size, 0, size, size, p.axes, p.axes.x_min, p.axes.x_max,
                              p.axes.y_min, p.axes.y_max);
    const double cw = (f.X(f.x1) - f.X(f.x0)) / p.nx, ch = (f.Y(f.y0) - f.Y(f.y1)) / p.ny;
    for (int r = 0; r < p.ny; ++r) {
      for (int c = 0; c < p.nx; ++c) {
        const double v = p.values[static_cast<size_t>(r) * p.nx + c];
        // Square-root scale: visitation counts are heavy-tailed.
        const std::string color = v > 0 ? ColorMap(std::sqrt(v / vmax)) : "#f4f4f4";
        o << fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.2f}' height='{:.2f}' fill='{}'/>\n", f.X(f.x0) + c * cw,
                         f.Y(f.y0) - (r + 1) * ch, cw + 0.3, ch + 0.3, color);
      }
    }
    DrawAxes(o, f, p.axes);
  }
  Write(path, static_cast<double>(size) * std::max<size_t>(1, panels.size()), size, o.str());
}

}  // namespace hilserl::plot
