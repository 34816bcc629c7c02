"""The operator's dashboard: `GET /dashboard` (a server-rendered page), `GET /dashboard/data.json` (its numbers) and
`GET /dashboard/runs/{id}` (a run's activity document). It reads the store and the broker; it places nothing and
changes nothing."""
