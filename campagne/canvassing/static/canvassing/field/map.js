// The turf on a Leaflet map: the addresses in walking order (numbered, grey once done),
// the route between them and the meeting point. Tiles come from the configured server;
// the service worker keeps those already seen, so the map still shows offline.

export function drawTurf(element, config, session, isDone, onPick) {
  if (!window.L) return null;
  const L = window.L;
  const map = L.map(element, { zoomControl: true, attributionControl: true });
  if (config.tiles) {
    L.tileLayer(config.tiles, { maxZoom: 19, attribution: config.attribution }).addTo(map);
  }
  const points = [];
  session.stops.forEach((stop, index) => {
    if (stop.lat == null || stop.lon == null) return;
    const point = [stop.lat, stop.lon];
    points.push(point);
    const marker = L.circleMarker(point, {
      radius: 11,
      weight: 2,
      color: "#1d3557",
      fillColor: isDone(stop) ? "#9aa5b1" : "#e63946",
      fillOpacity: 0.9,
    }).addTo(map);
    marker.bindTooltip(String(index + 1), { permanent: true, direction: "center", className: "field-map-number" });
    marker.on("click", () => onPick(stop));
  });
  if (points.length > 1) L.polyline(points, { color: "#457b9d", weight: 3, opacity: 0.7 }).addTo(map);
  if (session.meeting_lat != null && session.meeting_lon != null) {
    const meeting = [session.meeting_lat, session.meeting_lon];
    L.circleMarker(meeting, { radius: 8, color: "#2a9d8f", fillOpacity: 1 })
      .bindTooltip(session.meeting || "")
      .addTo(map);
    points.push(meeting);
  }
  if (points.length) map.fitBounds(points, { padding: [24, 24], maxZoom: 18 });
  else map.setView([46.6, 2.4], 5);
  return map;
}
