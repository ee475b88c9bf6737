// Draws the report's weekly charts with the vendored Chart.js. Each canvas names the
// json_script element holding {labels, datasets: [{code, label, data}]}.
(function () {
  const palette = ["#0d6efd", "#6610f2", "#d63384", "#dc3545", "#fd7e14", "#ffc107", "#198754", "#20c997", "#0dcaf0", "#6c757d", "#343a40"];
  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chartSource);
    if (!source || typeof Chart === "undefined") { return; }
    const data = JSON.parse(source.textContent);
    const kind = canvas.dataset.chartKind || "bar";
    const stacked = kind === "bar";
    new Chart(canvas, {
      type: kind,
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (dataset, index) {
          const colour = palette[index % palette.length];
          return { label: dataset.label, data: dataset.data, backgroundColor: colour, borderColor: colour, spanGaps: true, tension: 0.2 };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    canvas.dataset.chartRendered = "true";
  }
  document.querySelectorAll("canvas[data-chart-source]").forEach(draw);
})();
