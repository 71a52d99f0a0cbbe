// Prometheus text exposition: request counts by route and status, latency histograms by route, index size.
const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, { counts: number[]; sum: number; count: number }>();

  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `route="${route}",method="${method}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hkey = `route="${route}",method="${method}"`;
    let h = this.latency.get(hkey);
    if (!h) this.latency.set(hkey, (h = { counts: new Array(buckets.length).fill(0), sum: 0, count: 0 }));
    buckets.forEach((b, i) => { if (seconds <= b) h!.counts[i] = (h!.counts[i] ?? 0) + 1; });
    h.sum += seconds;
    h.count++;
  }

  render(gauges: Record<string, number>): string {
    const lines = ['# HELP xmodal_http_requests_total HTTP requests by route, method and status.', '# TYPE xmodal_http_requests_total counter'];
    for (const [k, v] of this.requests) lines.push(`xmodal_http_requests_total{${k}} ${v}`);
    lines.push('# HELP xmodal_http_request_duration_seconds Request latency by route.', '# TYPE xmodal_http_request_duration_seconds histogram');
    for (const [k, h] of this.latency) {
      buckets.forEach((b, i) => lines.push(`xmodal_http_request_duration_seconds_bucket{${k},le="${b}"} ${h.counts[i]}`));
      lines.push(`xmodal_http_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
      lines.push(`xmodal_http_request_duration_seconds_sum{${k}} ${h.sum}`);
      lines.push(`xmodal_http_request_duration_seconds_count{${k}} ${h.count}`);
    }
    for (const [name, value] of Object.entries(gauges)) lines.push(`# TYPE ${name} gauge`, `${name} ${value}`);
    return lines.join('\n') + '\n';
  }
}
