package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/notify"
)

type listDeliveriesInput struct {
	PageParams
	Status     string `query:"status" enum:"pending,sent,failed,dead" doc:"Only deliveries in this state: failed (to be retried) and dead (given up) need attention."`
	PlaybookID string `query:"playbook_id"`
	AccountID  string `query:"account_id"`
}

type deliveryPage struct {
	Deliveries []notify.Delivery `json:"deliveries"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

type deliveryPageOutput struct{ Body deliveryPage }

type deliveryIDInput struct {
	DeliveryID string `path:"delivery_id" doc:"The delivery's id."`
}

type deliveryOutput struct{ Body notify.Delivery }

func registerDeliveries(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-deliveries", Method: http.MethodGet, Path: "/deliveries", Tags: []string{"Playbooks"},
		Summary: "List deliveries",
		Description: "The outbox of emails, webhooks and Slack messages, newest first, with each one's attempts and last error. " +
			"Secrets and Slack URLs are masked.",
	}, func(ctx context.Context, in *listDeliveriesInput) (*deliveryPageOutput, error) {
		l, err := newListing(in.PageParams, "-created_at", "delivery_id", "created_at")
		if err != nil {
			return nil, err
		}
		list, err := notify.List(ctx, s.db, notify.Filter{Status: in.Status, PlaybookID: in.PlaybookID, AccountID: in.AccountID,
			AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()})
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "delivery_id", func(d notify.Delivery) (any, string) { return d.CreatedAt.Unix(), d.ID })
		for i := range list {
			list[i] = list[i].Masked()
		}
		return &deliveryPageOutput{Body: deliveryPage{Deliveries: orEmpty(list), NextCursor: next}}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "retry-delivery", Method: http.MethodPost, Path: "/deliveries/{delivery_id}/retry", Tags: []string{"Playbooks"},
		Summary:     "Retry a delivery",
		Description: "Makes a failed or dead delivery pending again and queues a job that sends it now (its attempts are kept). 409 when it was sent.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *deliveryIDInput) (*deliveryOutput, error) {
		var after notify.Delivery
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, a, err := notify.Retry(ctx, tx, in.DeliveryID, time.Now())
			if err != nil {
				return err
			}
			// With the delivery pending again, a job sends it; in the same
			// transaction, so the two commit together.
			if _, err := jobs.QueueDelivery(ctx, tx, a.ID); err != nil {
				return err
			}
			after = a
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionUpdate, "delivery", a.ID, before.Masked(), a.Masked())
		})
		switch {
		case errors.Is(err, notify.ErrNotFound):
			return nil, huma.Error404NotFound("no delivery " + in.DeliveryID)
		case errors.Is(err, notify.ErrAlreadySent):
			return nil, huma.Error409Conflict("delivery " + in.DeliveryID + " was sent already")
		case err != nil:
			return nil, s.internal(ctx, err)
		}
		return &deliveryOutput{Body: after.Masked()}, nil
	})
}
