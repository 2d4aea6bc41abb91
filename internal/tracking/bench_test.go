package tracking_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/tracking"
)

// BenchmarkBatch posts /v1/batch with 100 track calls a request from
// parallel clients into SQLite (b.N requests; events/s reported).
func BenchmarkBatch(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b), ingest.Options{})
	var seq atomic.Int64
	ts := time.Now().UTC().Format(time.RFC3339)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var body bytes.Buffer
		for pb.Next() {
			n := seq.Add(1)
			body.Reset()
			body.WriteString(`{"batch":[`)
			for i := 0; i < 100; i++ {
				if i > 0 {
					body.WriteByte(',')
				}
				fmt.Fprintf(&body, `{"type":"track","messageId":"b%d-%d","userId":"user-%d","event":"Feature %d Used","timestamp":"%s","context":{"groupId":"acct-%d"},"properties":{"plan":"pro"}}`,
					n, i, (n*100+int64(i))%20000, i%20, ts, n%2000)
			}
			body.WriteString(`]}`)
			req, _ := http.NewRequest("POST", e.srv.URL+"/v1/batch", bytes.NewReader(body.Bytes()))
			req.SetBasicAuth(e.key, "")
			resp, err := e.client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecode decodes a 100-call batch.
func BenchmarkDecode(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"batch":[`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"type":"track","messageId":"b-%d","userId":"user-%d","event":"Feature Used","timestamp":"2024-05-01T10:00:00Z","context":{"groupId":"acct-1","library":{"name":"analytics-go","version":"3.3.0"}},"properties":{"plan":"pro","seats":12}}`, i, i)
	}
	body.WriteString(`]}`)
	now := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		if _, err := tracking.Decode("batch", body.Bytes(), now); err != nil {
			b.Fatal(err)
		}
	}
}
