package demo

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// streamSentiment is the random stream of an account's CSM sentiment
// records, apart from the others so that adding it changed no other data.
const streamSentiment = 16

// CSM check-ins: every checkInDays on average, a CSM records how the account
// feels to them.
const checkInDays = 30

// sentimentRecord is one csm_sentiments row.
type sentimentRecord struct {
	day       int64
	sentiment string
	note      string
}

// makeSentiments draws a's CSM sentiment records. A CSM sees what the data
// shows of the planted traits (reports not adopted yet, onboarding not
// completed, few seats in use), reads it with plenty of noise, and now and
// then hears that a customer is unhappy before it leaves: about two thirds
// of the check-ins in the 75 days before a churn carry that warning. Nothing else of
// the churn is known to them.
func (w *world) makeSentiments(a *acct) []sentimentRecord {
	if a.prospect {
		return nil
	}
	r := w.rng(streamSentiment, a.idx)
	var out []sentimentRecord
	for _, iv := range a.paying() {
		end := min(iv.end, w.now)
		for d := iv.start + 14 + int64(r.IntN(checkInDays)); d < end; d += int64(checkInDays/2 + r.IntN(checkInDays)) {
			risk := 0.0
			if d < a.adoptDay {
				risk += math.Log(nonAdopterMultiplier)
			}
			if a.onboarded {
				risk += math.Log(onboardedMultiplier)
			}
			if a.lowUtil {
				risk += math.Log(lowUtilMultiplier)
			}
			warned := false
			for _, c := range a.churns {
				if c > d && c-d <= 75 && r.Float64() < 0.65 {
					warned = true
				}
			}
			if warned {
				risk += 1.5
			}
			risk += r.NormFloat64() * 0.5
			rec := sentimentRecord{day: d}
			switch {
			case risk < 0:
				rec.sentiment, rec.note = "green", "Engaged; no concerns."
			case risk < 1.1:
				rec.sentiment, rec.note = "yellow", "Some concerns about adoption."
			default:
				rec.sentiment, rec.note = "red", "At risk: low engagement."
			}
			if warned && rec.sentiment != "green" {
				rec.note = "Champion sounded unhappy on the last call."
			}
			out = append(out, rec)
		}
	}
	return out
}

// writeSentiments writes every account's CSM sentiment records, set by its
// owner, in multi-row inserts (sized when SQLite looked $N parameters up
// by name; store now numbers them positionally).
func (w *world) writeSentiments(ctx context.Context, q store.Querier) error {
	const cols, perStmt = 5, 50
	var b strings.Builder
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := q.ExecContext(ctx, `INSERT INTO csm_sentiments (account_id, set_at, sentiment, note, set_by) VALUES `+b.String()+
			` ON CONFLICT (account_id, set_at) DO NOTHING`, args...)
		b.Reset()
		args = args[:0]
		if err != nil {
			return fmt.Errorf("generate demo: csm sentiments: %w", err)
		}
		return nil
	}
	for _, a := range w.accounts {
		for _, s := range w.makeSentiments(a) {
			if len(args) > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.Placeholders(len(args)+1, cols) + ")")
			// During office hours in Japan, like the other records.
			args = append(args, a.id, s.day*86400+3600+int64(a.num%30000), s.sentiment, s.note, a.owner)
			if len(args) >= cols*perStmt {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}
