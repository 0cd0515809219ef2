/* Turfs on a Leaflet map: a colour per turf, numbered stops in walking order, the route
 * from the meeting point (★) and back. On the campaign's map page, organizers click stops
 * to select them for the "move" form. Leaflet comes from our own static files
 * (django-leaflet); background tiles only when MAP_TILES_URL is set. */
(function () {
  "use strict";
  var element = document.getElementById("turf-map");
  if (!element || !window.L) return;
  var script = document.currentScript || document.querySelector("script[src*='organize-map']");
  var text = (script && script.dataset) || {};

  var COLOURS = ["#b3125b", "#1a5fd6", "#136f3a", "#8a5a00", "#6a3d9a", "#d94801",
                 "#00838f", "#5b5b6e", "#c2185b", "#2e7d32", "#283593", "#795548"];
  var map = L.map(element, { scrollWheelZoom: false, zoomSnap: 0.25 });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { maxZoom: 19, attribution: element.dataset.attribution || "" }).addTo(map);
  }
  map.setView([46.6, 2.4], 5);

  var selectable = element.dataset.selectable === "1";
  var selected = {};
  var holder = document.getElementById("selected-addresses");
  var status = document.getElementById("selection-status");

  function refreshSelection() {
    if (!holder) return;
    holder.textContent = "";
    var ids = Object.keys(selected);
    ids.forEach(function (id) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "address"; input.value = id;
      holder.appendChild(input);
    });
    if (status) {
      status.textContent = ids.length
        ? (text.selected || "%s").replace("%s", String(ids.length))
        : (text.none || "");
    }
  }

  function icon(number, colour, isSelected) {
    var box = document.createElement("span");
    box.className = "stop-marker" + (isSelected ? " selected" : "");
    box.style.background = colour;
    box.textContent = String(number);
    return L.divIcon({ html: box.outerHTML, className: "", iconSize: [24, 24], iconAnchor: [12, 12] });
  }

  function draw(turfs) {
    var group = L.featureGroup().addTo(map);
    turfs.forEach(function (turf, index) {
      var colour = COLOURS[index % COLOURS.length];
      var path = [];
      if (turf.meeting) {
        path.push(turf.meeting);
        var star = L.marker(turf.meeting, {
          icon: L.divIcon({ html: '<span class="meeting-marker">★</span>', className: "", iconSize: [20, 20] }),
          keyboard: false,
        });
        star.bindTooltip((text.meeting || "") + " · " + turf.label);
        star.addTo(group);
      }
      turf.stops.forEach(function (stop) {
        if (stop.lat === null || stop.lon === null) return;
        path.push([stop.lat, stop.lon]);
        var marker = L.marker([stop.lat, stop.lon], { icon: icon(stop.position, colour, false), title: turf.label + " · " + stop.position + ". " + stop.label });
        marker.bindTooltip(turf.label + " · " + stop.position + ". " + stop.label);
        if (selectable) {
          marker.on("click", function () {
            var key = String(stop.address);
            if (selected[key]) { delete selected[key]; } else { selected[key] = true; }
            marker.setIcon(icon(stop.position, colour, !!selected[key]));
            refreshSelection();
          });
        }
        marker.addTo(group);
      });
      if (turf.meeting) path.push(turf.meeting);
      if (path.length > 1) L.polyline(path, { color: colour, weight: 2, opacity: 0.7, dashArray: "4 4" }).addTo(group);
    });
    var bounds = group.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], maxZoom: 18 });
    // What the browser tests read: how many stops are drawn.
    element.dataset.stops = String(turfs.reduce(function (n, t) { return n + t.stops.length; }, 0));
  }

  var inline = document.getElementById("turf-features");
  if (inline) { draw(JSON.parse(inline.textContent)); return; }
  if (element.dataset.url) {
    fetch(element.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { turfs: [] }; })
      .then(function (data) { draw(data.turfs); });
  }
  refreshSelection();
})();
