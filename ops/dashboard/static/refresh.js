// pms-relay dashboard: swap in the live part of the page every few seconds (no framework, no CDN).
"use strict";
(function () {
  const body = document.body;
  const every = Math.max(1, Number(body.dataset.refreshS || 5)) * 1000;
  const stale = document.getElementById("stale");

  async function refresh() {
    try {
      const response = await fetch("live", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const html = await response.text();
      const live = document.getElementById("live");
      const scroll = window.scrollY;
      live.innerHTML = html;
      window.scrollTo(0, scroll);
      const red = live.querySelector("header.bar.red") ? "red" : live.querySelector("header.bar.amber") ? "amber" : "green";
      document.title = "pms-relay · " + red;
      body.dataset.refreshes = String(Number(body.dataset.refreshes || 0) + 1);
      stale.hidden = true;
    } catch (error) {
      stale.hidden = false;
    } finally {
      setTimeout(refresh, every);
    }
  }
  setTimeout(refresh, every);
})();
