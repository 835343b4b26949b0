// Package chart computes the geometry of the console's SVG charts — a bar chart and a timeline
// of lanes — for server-side templates to draw: coordinates in SVG user units, classes for the
// style sheet, and titles for tooltips. It draws nothing and knows nothing of HTML, so its
// geometry is tested as numbers.
package chart
