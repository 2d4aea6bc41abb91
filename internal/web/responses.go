package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// ResponseFields are the writable fields of a survey response: the body of PUT.
type ResponseFields struct {
	AccountID  string `json:"account_id" minLength:"1" doc:"The account that answered, which must exist."`
	ContactID  string `json:"contact_id,omitempty" maxLength:"255" doc:"The person who answered."`
	Survey     string `json:"survey" minLength:"1" maxLength:"255" doc:"Which survey (\"NPS 2025 Q1\")."`
	Kind       string `json:"kind,omitempty" enum:"nps,csat,ces" doc:"nps (score 0–10, the default), csat (1–5) or ces (1–7)."`
	Score      int    `json:"score" doc:"The score, in the kind's range."`
	Comment    string `json:"comment,omitempty" maxLength:"100000"`
	AnsweredAt string `json:"answered_at" minLength:"1" doc:"YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time."`
}

// ResponseRecord is one survey response of a bulk call.
type ResponseRecord struct {
	ResponseID string `json:"response_id" minLength:"1" maxLength:"255"`
	ResponseFields
}

var responses = &resource[survey.Response, ResponseFields, survey.Response, ResponseRecord]{
	plural: "responses", object: "survey_response", tag: "Survey responses", write: needWrite,
	keys: []string{"response_id"}, keyDocs: []string{"The response's id (in your survey tool)."},
	load: func(ctx context.Context, q store.Querier, key []string) (survey.Response, error) {
		return survey.GetResponse(ctx, q, key[0])
	},
	fields: func(r survey.Response) ResponseFields {
		return ResponseFields{AccountID: r.AccountID, ContactID: r.ContactID, Survey: r.Survey, Kind: r.Kind,
			Score: r.Score, Comment: r.Comment, AnsweredAt: formatTime(r.AnsweredAt)}
	},
	check: func(ctx context.Context, c *checker, key []string, f *ResponseFields) {
		c.required("account_id", f.AccountID)
		c.requireAccount(ctx, "account_id", f.AccountID)
		c.required("survey", f.Survey)
		c.time("answered_at", &f.AnsweredAt, true)
		if f.Kind == "" {
			f.Kind = "nps"
		}
		if err := survey.CheckScore(f.Kind, f.Score); err != nil {
			c.fail("score", f.Score, "%v", err)
		}
	},
	save: func(ctx context.Context, q store.Querier, key []string, f ResponseFields) error {
		at, err := parseTime(f.AnsweredAt)
		if err != nil {
			return &fieldError{"answered_at", err.Error()}
		}
		return survey.UpsertResponse(ctx, q, survey.Response{ID: key[0], AccountID: f.AccountID, ContactID: f.ContactID,
			Survey: f.Survey, Kind: f.Kind, Score: f.Score, Comment: f.Comment, AnsweredAt: at})
	},
	remove: func(ctx context.Context, q store.Querier, key []string) error {
		return survey.DeleteResponse(ctx, q, key[0])
	},
	present: func(ctx context.Context, q store.Querier, r survey.Response) (survey.Response, error) { return r, nil },
	split: func(r ResponseRecord) ([]string, ResponseFields) {
		return []string{r.ResponseID}, r.ResponseFields
	},
}

type listResponsesInput struct {
	PageParams
	AccountID string `query:"account_id" doc:"Only this account's responses."`
	Survey    string `query:"survey" doc:"Only responses to this survey."`
	Kind      string `query:"kind" enum:"nps,csat,ces" doc:"Only responses of this kind."`
	Sort      string `query:"sort" enum:"answered_at,-answered_at,response_id,-response_id" default:"-answered_at" doc:"Order: a field, descending with a leading -. Newest first by default."`
}

type responsePage struct {
	Responses  []survey.Response `json:"responses"`
	NextCursor string            `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type responsePageOutput struct{ Body responsePage }

func registerResponses(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-survey-responses", Method: http.MethodGet, Path: "/responses", Tags: []string{"Survey responses"},
		Summary: "List survey responses", Description: "A page of NPS, CSAT and CES responses.",
	}, func(ctx context.Context, in *listResponsesInput) (*responsePageOutput, error) {
		l, err := newListing(in.PageParams, in.Sort, "response_id", "answered_at")
		if err != nil {
			return nil, err
		}
		list, err := survey.SearchResponses(ctx, s.db, survey.ResponseFilter{AccountID: in.AccountID, Survey: in.Survey,
			Kind: in.Kind, Sort: l.sort, Desc: l.desc, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()})
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "response_id", func(r survey.Response) (any, string) { return r.SortKey(l.sort), r.ID })
		return &responsePageOutput{Body: responsePage{Responses: orEmpty(list), NextCursor: next}}, nil
	})
	responses.registerRecord(s, api)
}
