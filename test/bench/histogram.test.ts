import { expect, it } from 'vitest';
import { histogramDelta, histogramTotals } from '../../bench/histogram.js';

const page = `# HELP hermes_http_request_duration_seconds HTTP request latency
# TYPE hermes_http_request_duration_seconds histogram
hermes_http_request_duration_seconds_bucket{le="0.001",service="ingest",method="POST",route="/webhooks/alertmanager",status="202"} 3
hermes_http_request_duration_seconds_sum{service="ingest",method="POST",route="/webhooks/alertmanager",status="202"} 0.25
hermes_http_request_duration_seconds_count{service="ingest",method="POST",route="/webhooks/alertmanager",status="202"} 40
hermes_http_request_duration_seconds_sum{service="ingest",method="POST",route="/webhooks/alertmanager",status="400"} 0.5
hermes_http_request_duration_seconds_count{service="ingest",method="POST",route="/webhooks/alertmanager",status="400"} 2
hermes_http_request_duration_seconds_sum{service="ingest",method="GET",route="/healthz",status="200"} 7
hermes_http_request_duration_seconds_count{service="ingest",method="GET",route="/healthz",status="200"} 9
hermes_ingest_intake_script_duration_seconds_summary 100
hermes_ingest_intake_script_duration_seconds_sum 0.125
hermes_ingest_intake_script_duration_seconds_count 20
`;

it('adds up the series of a histogram that carry the wanted labels', () => {
  expect(
    histogramTotals(page, 'hermes_http_request_duration_seconds', { route: '/webhooks/alertmanager' }),
  ).toEqual({ sum: 0.75, count: 42 });
  expect(
    histogramTotals(page, 'hermes_http_request_duration_seconds', {
      route: '/webhooks/alertmanager',
      status: '202',
    }),
  ).toEqual({ sum: 0.25, count: 40 });
  expect(histogramTotals(page, 'hermes_http_request_duration_seconds')).toEqual({ sum: 7.75, count: 51 });
});

it('reads a histogram without labels and ignores metrics whose names only begin like it', () => {
  expect(histogramTotals(page, 'hermes_ingest_intake_script_duration_seconds')).toEqual({
    sum: 0.125,
    count: 20,
  });
  expect(histogramTotals(page, 'hermes_ingest')).toEqual({ sum: 0, count: 0 });
});

it('tells what a histogram gained between two readings', () => {
  expect(histogramDelta({ sum: 1.5, count: 10 }, { sum: 4, count: 30 })).toEqual({ sum: 2.5, count: 20 });
});
