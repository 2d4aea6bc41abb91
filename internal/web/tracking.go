package web

import (
	"context"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/tracking"
)

// registerTracking mounts the Segment HTTP Tracking API (POST /v1/batch,
// /v1/track, /v1/identify, /v1/group, /v1/page, /v1/screen, /v1/alias;
// internal/tracking) on the mux and starts the group-commit writer behind it
// (internal/ingest). It returns the writer's queue, which the server must
// close after the HTTP server has shut down (Queue.Close drains what was
// accepted). These endpoints authenticate with the write key themselves
// (an API key of scope ingest as the HTTP Basic user name); Segment's
// libraries send no Origin, so cross-origin protection lets them pass.
func (s *Server) registerTracking() *ingest.Queue {
	// Changed: the accounts a round touched are recomputed (jobs.Changed does nothing without a running queue).
	q := ingest.New(s.db, ingest.Options{Metrics: s.metrics, Log: s.log, Changed: func(ids []string) { jobs.Changed(context.Background(), ids) }})
	h := tracking.NewHandler(s.db, q, s.metrics, s.log)
	for _, p := range tracking.Paths {
		s.mux.Handle("POST "+p, h)
	}
	return q
}
