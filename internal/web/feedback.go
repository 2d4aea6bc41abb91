package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/jobs"
)

// FeedbackItem is one piece of feedback (named for the API: the schema names are unique).
type FeedbackItem struct{ feedback.Item }

// ProductRequest is a product request with its counts and ARR.
type ProductRequest struct{ feedback.Request }

// FeedbackFields are the writable fields of a feedback item.
type FeedbackFields struct {
	AccountID string `json:"account_id,omitempty" doc:"The account that said it, which must exist; empty for none."`
	Category  string `json:"category,omitempty" enum:"feature,ui_ux,performance,support,other" doc:"Empty: guessed from the text's words."`
	Text      string `json:"text" minLength:"1" maxLength:"10000"`
	RequestID string `json:"request_id,omitempty" doc:"Put it in this product request."`
}

type feedbackCreateInput struct{ Body FeedbackFields }

type feedbackKeyInput struct {
	FeedbackID string `path:"feedback_id" doc:"The item's id."`
}

type feedbackPutInput struct {
	FeedbackID string `path:"feedback_id" doc:"The item's id."`
	Body       FeedbackFields
}

// FeedbackFromTicket is the body of POST /feedback/from-ticket.
type FeedbackFromTicket struct {
	TicketID string `json:"ticket_id" minLength:"1"`
	Category string `json:"category,omitempty" enum:"feature,ui_ux,performance,support,other" doc:"Empty: guessed from the subject."`
}

type feedbackFromTicketInput struct{ Body FeedbackFromTicket }

type feedbackOutput struct {
	Location string `header:"Location" doc:"The item's URL (on creation)."`
	Body     FeedbackItem
}

type listFeedbackInput struct {
	PageParams
	AccountID string `query:"account_id"`
	Category  string `query:"category" enum:"feature,ui_ux,performance,support,other"`
	Source    string `query:"source" doc:"survey, ticket, csm, api, or an import's own word."`
	RequestID string `query:"request_id" doc:"Only the items of this product request."`
	Ungrouped bool   `query:"ungrouped" doc:"Only items in no product request: what is left to triage."`
}

type feedbackPage struct {
	Items      []FeedbackItem `json:"items" doc:"Newest first."`
	NextCursor string         `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type feedbackPageOutput struct{ Body feedbackPage }

// ProductRequestCreate is the body of POST /product-requests.
type ProductRequestCreate struct {
	RequestID   string   `json:"request_id,omitempty" maxLength:"100" doc:"Default a new id."`
	Title       string   `json:"title" minLength:"1" maxLength:"300"`
	Description string   `json:"description,omitempty" maxLength:"10000"`
	Category    string   `json:"category,omitempty" enum:"feature,ui_ux,performance,support,other" doc:"Default feature."`
	FeedbackIDs []string `json:"feedback_ids,omitempty" maxItems:"1000" doc:"The items asking for it."`
}

// ProductRequestEdit is the body of PUT /product-requests/{request_id}.
type ProductRequestEdit struct {
	Title       string `json:"title" minLength:"1" maxLength:"300"`
	Description string `json:"description,omitempty" maxLength:"10000"`
	Category    string `json:"category,omitempty" enum:"feature,ui_ux,performance,support,other"`
}

// ProductRequestStatus is the body of POST /product-requests/{request_id}/status.
type ProductRequestStatus struct {
	Status string `json:"status" enum:"open,planned,shipped,declined"`
	Note   string `json:"note,omitempty" maxLength:"2000" doc:"Why: quoted in the close-the-loop email."`
}

// ProductRequestMerge is the body of POST /product-requests/{request_id}/merge.
type ProductRequestMerge struct {
	RequestIDs  []string `json:"request_ids,omitempty" maxItems:"100" doc:"Duplicates: their items move here, and they point here."`
	FeedbackIDs []string `json:"feedback_ids,omitempty" maxItems:"1000" doc:"Items to add."`
}

type productRequestKeyInput struct {
	RequestID string `path:"request_id" doc:"The request's id."`
}

type productRequestCreateInput struct{ Body ProductRequestCreate }

type productRequestEditInput struct {
	RequestID string `path:"request_id"`
	Body      ProductRequestEdit
}

type productRequestStatusInput struct {
	RequestID string `path:"request_id"`
	Body      ProductRequestStatus
}

type productRequestMergeInput struct {
	RequestID string `path:"request_id"`
	Body      ProductRequestMerge
}

type listProductRequestsInput struct {
	Sort   string `query:"sort" enum:"count,arr" default:"count" doc:"count: most feedback items first; arr: the largest ARR of distinct requesting accounts first."`
	Status string `query:"status" enum:"open,planned,shipped,declined"`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" default:"0" doc:"0: all."`
}

// ProductRequestDetail is a request with its items.
type ProductRequestDetail struct {
	ProductRequest
	Feedback []FeedbackItem `json:"feedback"`
}

// ProductRequestChange is a status change with the close-the-loop emails it queued.
type ProductRequestChange struct {
	ProductRequest
	CloseTheLoop ProductRequestLoop `json:"close_the_loop"`
}

// ProductRequestLoop is who a close-the-loop notice went to.
type ProductRequestLoop struct{ feedback.Loop }

type productRequestOutput struct {
	Location string `header:"Location" doc:"The request's URL (on creation)."`
	Body     ProductRequest
}

type productRequestDetailOutput struct{ Body ProductRequestDetail }

type productRequestChangeOutput struct{ Body ProductRequestChange }

type productRequestListOutput struct {
	Body struct {
		Requests []ProductRequest `json:"requests"`
	}
}

type faqInput struct {
	Days  int `query:"days" minimum:"1" maximum:"3650" default:"90" doc:"Tickets opened in this many days before now."`
	Limit int `query:"limit" minimum:"1" maximum:"200" default:"20"`
}

type faqOutput struct {
	Body struct {
		Days       int                     `json:"days"`
		Candidates []feedback.FAQCandidate `json:"candidates" doc:"Topics of at least two tickets, most frequent first."`
	}
}

// feedbackError turns a feedback package error into the API's answer.
func (s *Server) feedbackError(ctx context.Context, err error) error {
	var ie *feedback.InvalidError
	switch {
	case errors.As(err, &ie):
		return huma.Error422UnprocessableEntity(err.Error(), &huma.ErrorDetail{Message: ie.Reason, Location: "body." + ie.Field})
	case errors.Is(err, feedback.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, feedback.ErrExists):
		return huma.Error409Conflict(err.Error())
	}
	return s.internal(ctx, err)
}

// checkFeedbackAccount refuses an item of an account that does not exist.
func (s *Server) checkFeedbackAccount(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if _, err := account.Get(ctx, s.db, id); err != nil {
		if errors.Is(err, account.ErrNotFound) {
			return huma.Error422UnprocessableEntity("no account "+id, &huma.ErrorDetail{Message: "no such account", Location: "body.account_id", Value: id})
		}
		return s.internal(ctx, err)
	}
	return nil
}

func items(list []feedback.Item) []FeedbackItem {
	out := make([]FeedbackItem, len(list))
	for i, it := range list {
		out[i] = FeedbackItem{it}
	}
	return out
}

func registerFeedback(s *Server, api huma.API) {
	tags := []string{"Feedback"}
	register(api, needRead, huma.Operation{
		OperationID: "list-feedback", Method: http.MethodGet, Path: "/feedback", Tags: tags,
		Summary: "List feedback items", Description: "A page of feedback items (from survey comments, tickets, CSMs, the API and imports), newest first.",
	}, func(ctx context.Context, in *listFeedbackInput) (*feedbackPageOutput, error) {
		l, err := newListing(in.PageParams, "-created_at", "feedback_id", "created_at")
		if err != nil {
			return nil, err
		}
		list, err := feedback.Search(ctx, s.db, feedback.Filter{AccountID: in.AccountID, Category: in.Category, Source: in.Source,
			RequestID: in.RequestID, Ungrouped: in.Ungrouped, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()})
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "feedback_id", func(it feedback.Item) (any, string) { return it.CreatedAt.Unix(), it.ID })
		return &feedbackPageOutput{Body: feedbackPage{Items: items(list), NextCursor: next}}, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "create-feedback", Method: http.MethodPost, Path: "/feedback", Tags: tags,
		Summary:       "Record feedback",
		Description:   "A feedback item from a CSM (source csm: the caller is a user) or an integration (source api: a service key).",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *feedbackCreateInput) (*feedbackOutput, error) {
		if err := s.checkFeedbackAccount(ctx, in.Body.AccountID); err != nil {
			return nil, err
		}
		source := feedback.SourceAPI
		if principalFrom(ctx).user.ID != "" {
			source = feedback.SourceCSM
		}
		b := in.Body
		return s.saveFeedback(ctx, audit.ActionCreate, func(tx *sql.Tx) (feedback.Item, feedback.Item, error) {
			it, err := feedback.Create(ctx, tx, feedback.Item{AccountID: b.AccountID, Category: b.Category, Text: b.Text,
				RequestID: b.RequestID, Source: source}, time.Now())
			return feedback.Item{}, it, err
		})
	})
	register(api, needActivity, huma.Operation{
		OperationID: "create-feedback-from-ticket", Method: http.MethodPost, Path: "/feedback/from-ticket", Tags: tags,
		Summary:       "Turn a ticket into feedback",
		Description:   "A feedback item (source ticket, id fb_t_{ticket_id}) of the ticket's account, its subject as the text. 409 if the ticket already became one.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *feedbackFromTicketInput) (*feedbackOutput, error) {
		return s.saveFeedback(ctx, audit.ActionCreate, func(tx *sql.Tx) (feedback.Item, feedback.Item, error) {
			it, err := feedback.FromTicket(ctx, tx, in.Body.TicketID, in.Body.Category, time.Now())
			return feedback.Item{}, it, err
		})
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-feedback", Method: http.MethodGet, Path: "/feedback/{feedback_id}", Tags: tags,
		Summary: "Get a feedback item", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *feedbackKeyInput) (*feedbackOutput, error) {
		it, err := feedback.Get(ctx, s.db, in.FeedbackID)
		if err != nil {
			return nil, s.feedbackError(ctx, err)
		}
		return &feedbackOutput{Body: FeedbackItem{it}}, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "put-feedback", Method: http.MethodPut, Path: "/feedback/{feedback_id}", Tags: tags,
		Summary:     "Correct a feedback item",
		Description: "Replaces its category, text and product request (empty: none); its account and source stay.",
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *feedbackPutInput) (*feedbackOutput, error) {
		b := in.Body
		return s.saveFeedback(ctx, audit.ActionUpdate, func(tx *sql.Tx) (feedback.Item, feedback.Item, error) {
			category := b.Category
			if category == "" {
				category = feedback.Classify(b.Text)
			}
			return feedback.Update(ctx, tx, feedback.Item{ID: in.FeedbackID, Category: category, Text: b.Text, RequestID: b.RequestID}, time.Now())
		})
	})
	registerProductRequests(s, api)
}

// saveFeedback runs a change to one item with its audit entry.
func (s *Server) saveFeedback(ctx context.Context, action string, change func(tx *sql.Tx) (before, after feedback.Item, err error)) (*feedbackOutput, error) {
	var after feedback.Item
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		b, a, err := change(tx)
		if err != nil {
			return err
		}
		after = a
		var before any
		if action != audit.ActionCreate {
			before = b
		}
		return audit.Record(ctx, tx, principalFrom(ctx).actor, action, "feedback", a.ID, before, a)
	})
	if err != nil {
		return nil, s.feedbackError(ctx, err)
	}
	out := &feedbackOutput{Body: FeedbackItem{after}}
	if action == audit.ActionCreate {
		out.Location = apiPrefix + "/feedback/" + after.ID
	}
	return out, nil
}

func registerProductRequests(s *Server, api huma.API) {
	tags := []string{"Feedback"}
	register(api, needRead, huma.Operation{
		OperationID: "list-product-requests", Method: http.MethodGet, Path: "/product-requests", Tags: tags,
		Summary: "Rank product requests",
		Description: "The product requests (merged duplicates left out) with their feedback items, distinct requesting " +
			"accounts and those accounts' current ARR summed (reporting currency), ranked by count or by ARR.",
	}, func(ctx context.Context, in *listProductRequestsInput) (*productRequestListOutput, error) {
		list, err := feedback.Rank(ctx, s.db, feedback.RankOptions{Sort: in.Sort, Status: in.Status, Limit: in.Limit})
		if err != nil {
			return nil, s.feedbackError(ctx, err)
		}
		out := &productRequestListOutput{}
		out.Body.Requests = make([]ProductRequest, len(list))
		for i, r := range list {
			out.Body.Requests[i] = ProductRequest{r}
		}
		return out, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "create-product-request", Method: http.MethodPost, Path: "/product-requests", Tags: tags,
		Summary: "Create a product request", Description: "A request grouping the feedback items that ask for one thing.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *productRequestCreateInput) (*productRequestOutput, error) {
		b := in.Body
		var saved feedback.Request
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			saved, err = feedback.CreateRequest(ctx, tx, feedback.Request{ID: b.RequestID, Title: b.Title, Description: b.Description,
				Category: b.Category, CreatedBy: principalFrom(ctx).actor}, b.FeedbackIDs, time.Now())
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionCreate, "product_request", saved.ID, nil,
				map[string]any{"request": saved, "feedback_ids": b.FeedbackIDs})
		})
		if err != nil {
			return nil, s.feedbackError(ctx, err)
		}
		return &productRequestOutput{Location: apiPrefix + "/product-requests/" + saved.ID, Body: ProductRequest{saved}}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-product-request", Method: http.MethodGet, Path: "/product-requests/{request_id}", Tags: tags,
		Summary: "Get a product request", Description: "With its counts, ARR and feedback items. A merged one says where it went (merged_into).",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *productRequestKeyInput) (*productRequestDetailOutput, error) {
		r, list, err := feedback.View(ctx, s.db, in.RequestID, time.Now())
		if err != nil {
			return nil, s.feedbackError(ctx, err)
		}
		return &productRequestDetailOutput{Body: ProductRequestDetail{ProductRequest: ProductRequest{r}, Feedback: items(list)}}, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "put-product-request", Method: http.MethodPut, Path: "/product-requests/{request_id}", Tags: tags,
		Summary: "Edit a product request", Description: "Its title, description and category (the status has its own call).",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *productRequestEditInput) (*productRequestOutput, error) {
		b := in.Body
		var after feedback.Request
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, a, err := feedback.EditRequest(ctx, tx, feedback.Request{ID: in.RequestID, Title: b.Title,
				Description: b.Description, Category: b.Category}, time.Now())
			if err != nil {
				return err
			}
			after = a
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionUpdate, "product_request", a.ID, before, a)
		})
		if err != nil {
			return nil, s.feedbackError(ctx, err)
		}
		return &productRequestOutput{Body: ProductRequest{after}}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "set-product-request-status", Method: http.MethodPost, Path: "/product-requests/{request_id}/status", Tags: tags,
		Summary: "Change a product request's status",
		Description: "open, planned, shipped or declined. Becoming shipped or declined closes the loop: one email per owner " +
			"(CSM) of the requesting accounts, listing their accounts, queued for the job queue to send.",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *productRequestStatusInput) (*productRequestChangeOutput, error) {
		var out ProductRequestChange
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, after, loop, err := feedback.SetStatus(ctx, tx, in.RequestID, in.Body.Status, in.Body.Note, time.Now())
			if err != nil {
				return err
			}
			for _, id := range loop.DeliveryIDs {
				if _, err := jobs.QueueDelivery(ctx, tx, id); err != nil {
					return err
				}
			}
			out = ProductRequestChange{ProductRequest: ProductRequest{after}, CloseTheLoop: ProductRequestLoop{loop}}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionUpdate, "product_request", after.ID, before,
				map[string]any{"request": after, "close_the_loop": loop})
		})
		if err != nil {
			return nil, s.feedbackError(ctx, err)
		}
		return &productRequestChangeOutput{Body: out}, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "merge-product-requests", Method: http.MethodPost, Path: "/product-requests/{request_id}/merge", Tags: tags,
		Summary: "Merge duplicates into a product request",
		Description: "Moves every item of the duplicate requests (and the given items) into this one; the duplicates stay " +
			"as pointers (merged_into) and leave the ranking. No item is lost.",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *productRequestMergeInput) (*productRequestOutput, error) {
		var after feedback.Request
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, err := feedback.GetRequest(ctx, tx, in.RequestID)
			if err != nil {
				return err
			}
			if after, err = feedback.Merge(ctx, tx, in.RequestID, in.Body.RequestIDs, in.Body.FeedbackIDs, time.Now()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionUpdate, "product_request", after.ID, before,
				map[string]any{"request": after, "merged": in.Body})
		})
		if err != nil {
			return nil, s.feedbackError(ctx, err)
		}
		return &productRequestOutput{Body: ProductRequest{after}}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-faq-candidates", Method: http.MethodGet, Path: "/faq-candidates", Tags: tags,
		Summary: "FAQ candidates",
		Description: "The topics inquiries keep coming back to: each normalised word of the ticket subjects (Latin words of 3+ " +
			"letters, runs of kanji or katakana) and each ticket category, counted in tickets opened in the last days, " +
			"with example subjects; topics of at least two tickets.",
	}, func(ctx context.Context, in *faqInput) (*faqOutput, error) {
		list, err := feedback.FAQCandidates(ctx, s.db, time.Now(), in.Days, in.Limit)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &faqOutput{}
		out.Body.Days, out.Body.Candidates = in.Days, orEmpty(list)
		return out, nil
	})
}
