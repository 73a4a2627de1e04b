// report.html: sort any table by a click on its header, filter long tables, and record on <html> how many
// figures loaded (data-figures-loaded="k/n"), which the browser test reads.
(function () {
  "use strict";
  var LONG = 12;
  function key(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw !== null) { return raw === "" ? NaN : parseFloat(raw); }
    return cell.textContent.trim().toLowerCase();
  }
  function compare(a, b) {
    var an = typeof a === "number", bn = typeof b === "number";
    if (an && bn) {
      if (isNaN(a)) { return isNaN(b) ? 0 : 1; }
      if (isNaN(b)) { return -1; }
      return a - b;
    }
    return String(a).localeCompare(String(b));
  }
  function sortable(table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, i) {
      th.title = "sort by this column";
      th.addEventListener("click", function () {
        var order = th.getAttribute("data-order") === "asc" ? "desc" : "asc";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("data-order"); });
        th.setAttribute("data-order", order);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r, s) {
          var c = compare(key(r.cells[i]), key(s.cells[i]));
          return order === "asc" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  function filterable(table) {
    var input = document.createElement("input");
    input.type = "search";
    input.className = "filter";
    input.placeholder = "Filter these " + table.tBodies[0].rows.length + " rows (any text)";
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
    var holder = table.parentElement.classList.contains("scroll") ? table.parentElement : table;
    holder.parentElement.insertBefore(input, holder);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("main table"), function (table) {
      sortable(table);
      if (table.tBodies.length && table.tBodies[0].rows.length > LONG) { filterable(table); }
    });
  });
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var loaded = images.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length;
    document.documentElement.setAttribute("data-figures-loaded", loaded + "/" + images.length);
  });
})();
