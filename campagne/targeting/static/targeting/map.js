/* The targeting maps: a profile's ranked stations coloured by score, or one station.
 * Leaflet comes from our own static files (django-leaflet); background tiles only when
 * MAP_TILES_URL is set, and the map stays readable without them (shapes, tooltips). */
(function () {
  "use strict";
  var element = document.getElementById("station-map");
  if (!element || !window.L) return;

  // Five classes of score, the same as the table's chips (targeting.css).
  var COLOURS = ["#fde0dd", "#fbb4b9", "#f768a1", "#c51b8a", "#7a0177"];
  function colour(score) {
    return COLOURS[Math.min(4, Math.max(0, Math.floor((score || 0) / 20)))];
  }

  var map = L.map(element, { scrollWheelZoom: false, preferCanvas: true, zoomSnap: 0.25 });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, {
      maxZoom: 18,
      attribution: element.dataset.attribution || "",
    }).addTo(map);
  }
  map.setView([46.6, 2.4], 5);

  function tooltip(properties) {
    // Text nodes, not HTML: names come from imported files.
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = properties.commune || properties.station;
    box.appendChild(title);
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(properties.label));
    if (properties.rank) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(
        (element.dataset.rank || "rang") + " " + properties.rank + " · " +
        (element.dataset.score || "score") + " " + String(properties.score).replace(".", ",")
      ));
    }
    return box;
  }

  var layer = null;
  function show(data, fit) {
    if (layer) layer.remove();
    layer = L.geoJSON(data, {
      style: function (feature) {
        return { color: "#3b2a3a", weight: 1, fillColor: colour(feature.properties.score), fillOpacity: 0.75 };
      },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 7 });
      },
      onEachFeature: function (feature, item) {
        item.bindTooltip(tooltip(feature.properties), { sticky: true });
        if (feature.properties.url) {
          item.on("click", function () { window.location.href = feature.properties.url; });
        }
      },
    }).addTo(map);
    var bounds = layer.getBounds();
    if (fit && bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 15 });
    notice.textContent = data.truncated ? element.dataset.truncated || "" : "";
    // How many stations are drawn (what the browser tests read).
    element.dataset.features = String(data.features.length);
  }

  var notice = document.createElement("p");
  notice.className = "map-notice muted";
  notice.setAttribute("role", "status");
  element.parentNode.insertBefore(notice, element.nextSibling);

  // One station (its page): the feature is in the page.
  var inline = document.getElementById("station-feature");
  if (inline) {
    show(JSON.parse(inline.textContent), true);
    return;
  }

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var box = L.DomUtil.create("div", "map-legend");
    var title = document.createElement("strong");
    title.textContent = element.dataset.legend || "Score";
    box.appendChild(title);
    COLOURS.forEach(function (fill, index) {
      var row = document.createElement("div");
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = fill;
      row.appendChild(swatch);
      row.appendChild(document.createTextNode(" " + index * 20 + "–" + (index + 1) * 20));
      box.appendChild(row);
    });
    return box;
  };
  legend.addTo(map);

  var current = null;
  function load() {
    var source = document.getElementById("map-source");
    var url = source && source.dataset.geojson;
    if (!url || url === current) return;
    current = url;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && url === current) show(data, true); });
  }
  load();
  // The filters and pages reload the table with htmx: follow them.
  document.body.addEventListener("htmx:afterSettle", load);
})();
