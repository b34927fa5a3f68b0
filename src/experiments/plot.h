// Plots as SVG files (no plotting library needed; browsers and GitHub show them): line
// plots with optional bands, scatter plots coloured by a value, and rows of heatmaps.
// Everything is drawn in data coordinates mapped to a fixed-size canvas with axes, ticks,
// labels and a legend or colour bar. Not thread-safe; each call writes one file.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hilserl::plot {

struct Series {
  std::string name;  // "" = no legend entry
  std::vector<double> x, y;
  std::vector<double> band;  // optional: +- half-width around y (e.g. std over seeds)
  std::string color;         // "" = from the palette
};

struct Axes {
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 0, y_min = 0, y_max = 0;  // min == max: from the data
};

// One panel of a figure: curves on shared axes.
struct LinePanel {
  Axes axes;
  std::vector<Series> series;
};

// Lines (NaN y values break a line). Several panels are laid out side by side.
void WriteLinePlot(const std::string& path, const std::vector<LinePanel>& panels, int panel_width = 420,
                   int panel_height = 300);

// Points at (x, y) coloured by `value` (viridis-like map over [min, max] of the values),
// with a colour bar labelled `value_label`. Several panels side by side.
struct ScatterPanel {
  Axes axes;
  std::vector<double> x, y, value;
  std::string value_label;
};
void WriteScatterPlot(const std::string& path, const std::vector<ScatterPanel>& panels, int panel_width = 360,
                      int panel_height = 300);

// Heatmaps of counts on a grid (rows = y bins from y_min at the bottom, columns = x bins);
// every panel shares the colour scale (0 .. the largest value of all panels).
struct HeatmapPanel {
  Axes axes;  // x/y ranges must be set: they are the grid's extent
  int nx = 0, ny = 0;
  std::vector<double> values;  // ny * nx, row-major, row 0 = lowest y
};
void WriteHeatmaps(const std::string& path, const std::vector<HeatmapPanel>& panels, int panel_size = 260);

// The k-th colour of the line palette (cycles after 8), as "#rrggbb".
std::string PaletteColor(std::size_t k);

// Colour of t in [0, 1] on the viridis-like map, as "#rrggbb".
std::string ColorMap(double t);

}  // namespace hilserl::plot
