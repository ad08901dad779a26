/* minecoord: starts the web map (Leaflet) on each .webmap-box of the page. The server's
   SVG drawing stays in the page for printing and for browsers without JavaScript. */
(function () {
  "use strict";
  if (!window.L) return;

  // A metric scale bar in Chinese (米 / 公里), a round length near 100 pixels.
  var Scale = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function (map) {
      this._map = map;
      this._bar = L.DomUtil.create("div", "webmap-scale");
      map.on("zoomend moveend resize", this._update, this);
      this._update();
      return this._bar;
    },
    onRemove: function (map) {
      map.off("zoomend moveend resize", this._update, this);
    },
    _update: function () {
      var map = this._map, y = map.getSize().y / 2;
      var metres = map.distance(map.containerPointToLatLng([0, y]), map.containerPointToLatLng([100, y]));
      if (!(metres > 0)) return;
      var step = Math.pow(10, Math.floor(Math.log(metres) / Math.LN10));
      var length = [5, 2, 1].map(function (m) { return m * step; }).filter(function (l) { return l <= metres; })[0] || step;
      this._bar.style.width = Math.round(100 * length / metres) + "px";
      this._bar.textContent = length >= 1000 ? (length / 1000) + " 公里" : length + " 米";
    }
  });

  function start(box) {
    if (box.getAttribute("data-started")) return;
    box.setAttribute("data-started", "1");
    var el = box.querySelector(".webmap");
    var data;
    try {
      data = JSON.parse(box.querySelector(".webmap-data").textContent);
    } catch (e) {
      return;
    }
    el.hidden = false;
    box.classList.add("live");
    var tiles = el.getAttribute("data-tiles");
    var map = L.map(el, { zoomControl: false, attributionControl: !!tiles });
    if (tiles) {
      map.attributionControl.setPrefix(false);
      L.tileLayer(tiles, { maxZoom: 18, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
    }
    var layer = L.geoJSON(data, {
      style: function (f) {
        var p = f.properties;
        return { color: p.colour, fillColor: p.colour, fillOpacity: 0.35, weight: 2, dashArray: p.dashed ? "6 4" : null };
      },
      pointToLayer: function (f, at) {
        return L.circleMarker(at, { radius: 8, color: "#fff", weight: 2, fillColor: f.properties.colour, fillOpacity: 1 });
      },
      onEachFeature: function (f, shape) {
        var p = f.properties;
        if (p.label) shape.bindTooltip(p.label, { sticky: true });
        if (p.href) shape.on("click", function () { window.location.href = p.href; });
      }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds.pad(0.05), { maxZoom: 17 });
    } else {
      map.setView([35, 105], 4);
    }
    // Controls once the map has a view (the scale bar measures it).
    L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
    new Scale().addTo(map);
    el.setAttribute("data-ready", String(data.features.length));
  }

  var boxes = document.querySelectorAll(".webmap-box");
  for (var i = 0; i < boxes.length; i++) start(boxes[i]);
})();
