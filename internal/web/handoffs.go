package web

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/successplan"
)

// HandoffFields are the writable fields of a sales→CS handoff record: the body of PUT.
type HandoffFields struct {
	WhyBought       string `json:"why_bought,omitempty" maxLength:"100000" doc:"Why the customer bought."`
	Challenges      string `json:"challenges,omitempty" maxLength:"100000" doc:"The challenges they want solved."`
	Proposed        string `json:"proposed,omitempty" maxLength:"100000" doc:"What sales proposed."`
	Promised        string `json:"promised,omitempty" maxLength:"100000" doc:"What sales promised."`
	SuccessCriteria string `json:"success_criteria,omitempty" maxLength:"100000" doc:"How the customer will judge success."`
	DecisionMakers  string `json:"decision_makers,omitempty" maxLength:"100000" doc:"Who decides, and who signs."`
	AuthorEmail     string `json:"author_email,omitempty" maxLength:"320" doc:"Who wrote it; default the user making the request."`
}

// HandoffRecord is one handoff record of a bulk call.
type HandoffRecord struct {
	AccountID string `json:"account_id" minLength:"1" maxLength:"255"`
	HandoffFields
}

// HandoffOut is a handoff record as the API shows it: with how complete it is.
type HandoffOut struct {
	account.Handoff
	Completeness successplan.HandoffCompleteness `json:"completeness" doc:"Which of the six parts (why they bought, challenges, proposed, promised, success criteria, decision makers) are filled in; blank, -, n/a, tbd and the like count as missing."`
}

func handoffOut(h account.Handoff) HandoffOut {
	return HandoffOut{Handoff: h, Completeness: successplan.Assess(h)}
}

var handoffs = &resource[account.Handoff, HandoffFields, HandoffOut, HandoffRecord]{
	plural: "handoffs", object: "handoff", tag: "Handoffs", write: needActivity,
	keys: []string{"account_id"}, keyDocs: []string{"The account the handoff is about (one record per account), which must exist."},
	load: func(ctx context.Context, q store.Querier, key []string) (account.Handoff, error) {
		return account.GetHandoff(ctx, q, key[0])
	},
	fields: func(h account.Handoff) HandoffFields {
		return HandoffFields{WhyBought: h.WhyBought, Challenges: h.Challenges, Proposed: h.Proposed, Promised: h.Promised,
			SuccessCriteria: h.SuccessCriteria, DecisionMakers: h.DecisionMakers, AuthorEmail: h.AuthorEmail}
	},
	check: func(ctx context.Context, c *checker, key []string, f *HandoffFields) {
		c.requireAccount(ctx, "account_id", key[0])
		if f.AuthorEmail == "" {
			f.AuthorEmail = c.p.email()
		}
		c.email("author_email", &f.AuthorEmail)
	},
	save: func(ctx context.Context, q store.Querier, key []string, f HandoffFields) error {
		return account.SetHandoff(ctx, q, account.Handoff{AccountID: key[0], WhyBought: f.WhyBought, Challenges: f.Challenges,
			Proposed: f.Proposed, Promised: f.Promised, SuccessCriteria: f.SuccessCriteria, DecisionMakers: f.DecisionMakers,
			AuthorEmail: f.AuthorEmail})
	},
	remove: func(ctx context.Context, q store.Querier, key []string) error {
		return account.DeleteHandoff(ctx, q, key[0])
	},
	present: func(ctx context.Context, q store.Querier, h account.Handoff) (HandoffOut, error) {
		return handoffOut(h), nil
	},
	split: func(r HandoffRecord) ([]string, HandoffFields) {
		return []string{r.AccountID}, r.HandoffFields
	},
}

type listHandoffsInput struct {
	PageParams
	AuthorEmail string `query:"author_email" doc:"Only records written by this author."`
	Sort        string `query:"sort" enum:"account_id,-account_id,updated_at,-updated_at" default:"account_id" doc:"Order: a field, descending with a leading -."`
}

type handoffPage struct {
	Handoffs   []HandoffOut `json:"handoffs"`
	NextCursor string       `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type missingHandoffsInput struct {
	Incomplete bool `query:"incomplete" doc:"Also list accounts whose handoff record is incomplete."`
}

type missingHandoffsOutput struct {
	Body struct {
		Accounts []successplan.MissingHandoff `json:"accounts" doc:"Largest MRR first."`
		Missing  int                          `json:"missing" doc:"Accounts with no handoff record."`
		Partial  int                          `json:"incomplete" doc:"Accounts with an incomplete one (counted with incomplete=true)."`
	}
}

type handoffPageOutput struct{ Body handoffPage }

func registerHandoffs(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-handoffs", Method: http.MethodGet, Path: "/handoffs", Tags: []string{"Handoffs"},
		Summary: "List handoff records", Description: "A page of sales→CS handoff records, one per account.",
	}, func(ctx context.Context, in *listHandoffsInput) (*handoffPageOutput, error) {
		l, err := newListing(in.PageParams, in.Sort, "account_id", "updated_at")
		if err != nil {
			return nil, err
		}
		list, err := account.SearchHandoffs(ctx, s.db, account.HandoffFilter{AuthorEmail: in.AuthorEmail,
			Sort: l.sort, Desc: l.desc, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()})
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "account_id", func(h account.Handoff) (any, string) { return h.SortKey(l.sort), h.AccountID })
		out := make([]HandoffOut, len(list))
		for i, h := range list {
			out[i] = handoffOut(h)
		}
		return &handoffPageOutput{Body: handoffPage{Handoffs: out, NextCursor: next}}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-missing-handoffs", Method: http.MethodGet, Path: "/handoffs/missing", Tags: []string{"Handoffs"},
		Summary: "Paying accounts missing a handoff",
		Description: "The accounts with MRR > 0 now that have no sales→CS handoff record (and, with incomplete=true, those " +
			"whose record is incomplete), largest MRR first: a promise nobody handed over is a churn risk.",
	}, func(ctx context.Context, in *missingHandoffsInput) (*missingHandoffsOutput, error) {
		list, err := successplan.MissingHandoffs(ctx, s.db, time.Now(), in.Incomplete)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &missingHandoffsOutput{}
		out.Body.Accounts = list
		for _, m := range list {
			if m.HasHandoff {
				out.Body.Partial++
			} else {
				out.Body.Missing++
			}
		}
		return out, nil
	})
	handoffs.registerRecord(s, api)
}
