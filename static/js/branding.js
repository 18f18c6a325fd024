// The branding editor's live preview (views/branding/edit.html). It copies
// the form's values into the preview block as you type; nothing is saved
// until the form is submitted. Under the CSP there is no inline style:
// colours are set as CSS custom properties through the CSSOM
// (element.style.setProperty), which the policy allows, and chosen images
// are shown as data: URLs, which img-src allows.
"use strict";
(function () {
  var form = document.getElementById("branding-form");
  var preview = document.getElementById("brand-preview");
  if (!form || !preview) return;

  var colorPattern = /^#[0-9a-fA-F]{6}$/;
  // The same rules as contrastWarnings in app/branding.go.
  var wcagAA = 4.5;
  var chosen = { logo: null, favicon: null }; // data: URLs of files picked but not saved
  var saved = {
    logo: preview.querySelector("[data-preview=logo]").getAttribute("src") || "",
    favicon: preview.querySelector("[data-preview=favicon]").getAttribute("src") || ""
  };

  function input(name) { return form.elements.namedItem(name); }

  function value(name) {
    var el = input(name);
    return el ? el.value.trim() : "";
  }

  function each(selector, fn) {
    Array.prototype.forEach.call(preview.querySelectorAll(selector), fn);
  }

  function channel(v) {
    var c = v / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }

  function luminance(hex) {
    var n = parseInt(hex.slice(1), 16);
    return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
  }

  function contrast(l1, l2) {
    return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  }

  function ratio(r) { return (Math.floor(r * 10) / 10).toFixed(1) + ":1"; }

  // readableOn in app/health.go: black or white, whichever contrasts more.
  function readableOn(hex) {
    var l = luminance(hex);
    return contrast(l, 1) >= contrast(l, 0) ? "#ffffff" : "#000000";
  }

  function warning(name, hex) {
    if (!colorPattern.test(hex)) return "";
    var l = luminance(hex);
    var best = Math.max(contrast(l, 0), contrast(l, 1));
    if (best < wcagAA) {
      return "Text on this colour reaches only " + ratio(best) + " with black or white; WCAG AA asks for 4.5:1.";
    }
    if (name === "primary_color" && contrast(l, 1) < wcagAA) {
      return "Links in this colour on the white page reach only " + ratio(contrast(l, 1)) +
        "; WCAG AA asks for 4.5:1. You can save it, but a darker shade would be easier to read.";
    }
    return "";
  }

  // seriesColor in app/branding.go: the charts' second series, the
  // accent unless it is too close to the primary colour to tell apart.
  var seriesContrast = 1.5;
  function mix(hex, to, share) {
    var n = parseInt(hex.slice(1), 16), out = "#";
    [(n >> 16) & 255, (n >> 8) & 255, n & 255].forEach(function (c) {
      var v = Math.round(c + (to - c) * share);
      out += (v < 16 ? "0" : "") + v.toString(16);
    });
    return out;
  }
  function seriesColor(primary, accent) {
    var lp = luminance(primary);
    if (contrast(lp, luminance(accent)) >= seriesContrast) return accent;
    var tint = mix(primary, 255, 0.6), shade = mix(primary, 0, 0.55);
    return contrast(lp, luminance(tint)) >= contrast(lp, luminance(shade)) ? tint : shade;
  }
  function seriesWarning(primary, accent) {
    if (!colorPattern.test(primary) || !colorPattern.test(accent)) return "";
    var derived = seriesColor(primary, accent);
    if (derived === accent) return "";
    return "This colour is too close to the primary colour to tell inbound from outbound calls in your clients' charts, " +
      "so the charts draw inbound calls in " + derived + " instead. Choose a lighter or darker accent to use it there too.";
  }

  function setText(selector, text) {
    each(selector, function (el) {
      el.textContent = text;
      el.hidden = text === "";
    });
  }

  function showImage(name) {
    var removed = input("remove_" + name) && input("remove_" + name).checked;
    var src = chosen[name] || (removed ? "" : saved[name]);
    each("[data-preview=" + name + "]", function (img) {
      if (src) img.setAttribute("src", src); else img.removeAttribute("src");
      img.hidden = !src;
    });
    if (name === "logo") {
      each("[data-preview=initial]", function (el) { el.hidden = !!src; });
    }
  }

  function update() {
    var name = value("product_name");
    each("[data-preview=name]", function (el) { el.textContent = name; });
    var initial = name ? name.charAt(0).toUpperCase() : "";
    each("[data-preview=initial]", function (el) { el.textContent = initial; });
    setText("[data-preview=footer]", value("footer_text"));
    setText("[data-preview=support_email]", value("support_email"));
    setText("[data-preview=support_url]", value("support_url"));

    [["primary_color", "--brand-primary"], ["accent_color", "--brand-accent"]].forEach(function (pair) {
      var hex = value(pair[0]).toLowerCase();
      var valid = colorPattern.test(hex);
      if (valid) {
        preview.style.setProperty(pair[1], hex);
        if (pair[0] === "primary_color") preview.style.setProperty("--brand-on-primary", readableOn(hex));
        var swatch = form.querySelector("[data-color-for=f-" + pair[0] + "]");
        if (swatch && swatch.value !== hex) swatch.value = hex;
      }
      var note = form.querySelector("[data-warning-for=" + pair[0] + "]");
      if (note) {
        var text = warning(pair[0], hex);
        if (!text && pair[0] === "accent_color") text = seriesWarning(value("primary_color").toLowerCase(), hex);
        note.textContent = text;
        note.hidden = text === "";
      }
    });
    showImage("logo");
    showImage("favicon");
  }

  // A picked file is shown before it is uploaded. SVG is refused here as
  // on the server; other files are left to the server to judge.
  function readFile(name) {
    var el = input(name);
    var file = el && el.files && el.files[0];
    chosen[name] = null;
    if (!file) { update(); return; }
    if (file.type === "image/svg+xml" || /\.svgz?$/i.test(file.name)) {
      el.setCustomValidity("SVG is not accepted: upload PNG, JPEG, GIF or WebP");
      el.reportValidity();
      update();
      return;
    }
    el.setCustomValidity("");
    var reader = new FileReader();
    reader.onload = function () {
      if (typeof reader.result === "string" && reader.result.indexOf("data:image/") === 0) chosen[name] = reader.result;
      update();
    };
    reader.readAsDataURL(file);
  }

  // The colour pickers are an extra: the text inputs work without them.
  Array.prototype.forEach.call(form.querySelectorAll("[data-color-for]"), function (swatch) {
    var text = document.getElementById(swatch.getAttribute("data-color-for"));
    swatch.hidden = false;
    swatch.addEventListener("input", function () {
      text.value = swatch.value;
      update();
    });
  });

  form.addEventListener("input", update);
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "logo" || name === "favicon") readFile(name); else update();
  });
  update();
})();
