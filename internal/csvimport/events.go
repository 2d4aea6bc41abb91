package csvimport

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// runEvents imports an events file without a staging table: files of
// millions of events are common, and the generic path (stage, check, merge)
// reads every row several times. Each row is checked as it is read — its
// account against the account ids loaded up front — and handed to a
// usage.Writer, which inserts the events in chunks inside the transaction,
// lets the database skip those already stored and keeps the rollups. All of
// it stays in one transaction, so the import is still all-or-nothing, and
// memory stays flat: the ids of the accounts, the rollup maps (bounded) and a
// few chunks.
func (im *importer) runEvents(ctx context.Context, conn *sql.Conn, tx *sql.Tx, cr *csv.Reader, fields int, idx map[string]int, counter *countingReader) error {
	known, err := account.IDs(ctx, tx)
	if err != nil {
		return fmt.Errorf("import events: %w", err)
	}
	w := usage.NewWriter(im.db, conn, tx)
	defer w.Abort()      // a no-op after Close
	var created []string // accounts to create (--create-accounts)
	var good int64
	rw := &row{idx: idx}
	err = im.each(ctx, cr, fields, counter, func(line int64, rec []string) error {
		rw.rec, rw.errs = rec, rw.errs[:0]
		e := parseEvent(rw)
		if len(rw.errs) > 0 {
			for _, fe := range rw.errs {
				im.addError(line, fe.column, fe.reason)
			}
			return nil
		}
		if _, ok := known[e.AccountID]; !ok {
			if !im.opts.CreateAccounts {
				im.addError(line, "account_id", fmt.Sprintf("unknown account %q (import accounts first, or use --create-accounts)", e.AccountID))
				return nil
			}
			known[e.AccountID] = struct{}{}
			created = append(created, e.AccountID)
		}
		good++
		if im.res.ErrorCount > 0 && !im.opts.SkipInvalid {
			return nil // the file will be rejected: only look for more errors
		}
		return w.Add(ctx, e)
	})
	if err != nil {
		return fmt.Errorf("import events: %w", err)
	}
	if im.res.ErrorCount > 0 && !im.opts.SkipInvalid {
		return nil // the deferred rollback writes nothing
	}
	n, err := w.Close(ctx)
	if err != nil {
		return fmt.Errorf("import events: %w", err)
	}
	if len(created) > 0 {
		c, err := account.CreateBare(ctx, tx, created, store.Now())
		if err != nil {
			return fmt.Errorf("import events: %w", err)
		}
		im.res.CreatedAccounts = c
	}
	im.res.Inserted, im.res.Unchanged = n, good-n
	if im.opts.CheckOnly {
		return nil // the deferred Abort and rollback write nothing
	}
	if err := im.beforeCommit(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import events: commit: %w", err)
	}
	im.res.Committed = true
	return nil
}

// parseEvent reads one row of an events file.
func parseEvent(r *row) usage.Raw {
	e := usage.Raw{AccountID: r.req("account_id"), UserID: r.str("user_id"), Event: r.req("event")}
	e.TS, _ = r.unix("timestamp", true)
	e.Properties = r.jsonObject("properties")
	e.MessageID = r.str("message_id")
	return e
}
