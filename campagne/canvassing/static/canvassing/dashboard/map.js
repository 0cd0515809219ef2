/* The map of a field campaign's turfs: one circle per turf, coloured by its state.
 * The data comes with the live part of the page (#turf-map-data), which htmx refreshes
 * every few seconds; the circles are redrawn then, the view stays where the user left it.
 * Leaflet is served from our static files (django-leaflet); tiles only when configured. */
(function () {
  "use strict";
  var element = document.getElementById("turf-map");
  if (!element || !window.L) return;

  var COLOURS = { done: "#1a9850", in_progress: "#f46d43", left: "#9a9aae" };
  var LABELS = { done: element.dataset.done, in_progress: element.dataset.inProgress, left: element.dataset.left };

  var map = L.map(element, { scrollWheelZoom: false, preferCanvas: true });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { maxZoom: 19, attribution: element.dataset.attribution || "" }).addTo(map);
  }
  map.setView([46.6, 2.4], 5);

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var box = L.DomUtil.create("div", "map-legend");
    Object.keys(COLOURS).forEach(function (state) {
      var row = document.createElement("div");
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = COLOURS[state];
      row.appendChild(swatch);
      row.appendChild(document.createTextNode(" " + (LABELS[state] || state)));
      box.appendChild(row);
    });
    return box;
  };
  legend.addTo(map);

  function tooltip(properties) {
    // Text nodes, not HTML: turf names are typed by organizers.
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = properties.label;
    box.appendChild(title);
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(
      (LABELS[properties.state] || "") + " · " + properties.reached + "/" + properties.households +
      " " + (element.dataset.households || "")
    ));
    return box;
  }

  var layer = null;
  var fitted = false;
  function draw() {
    var source = document.getElementById("turf-map-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    if (layer) layer.remove();
    layer = L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        var size = Math.max(6, Math.min(16, 4 + Math.sqrt(feature.properties.households || 1)));
        return L.circleMarker(latlng, {
          radius: size, color: "#1d1d2c", weight: 1,
          fillColor: COLOURS[feature.properties.state] || "#9a9aae", fillOpacity: 0.85,
        });
      },
      onEachFeature: function (feature, item) {
        item.bindTooltip(tooltip(feature.properties), { sticky: true });
      },
    }).addTo(map);
    element.dataset.features = String(data.features.length);
    var bounds = layer.getBounds();
    if (!fitted && bounds.isValid()) {
      map.fitBounds(bounds, { padding: [16, 16], maxZoom: 16 });
      fitted = true;
    }
  }
  draw();
  document.body.addEventListener("htmx:afterSettle", draw);
})();
