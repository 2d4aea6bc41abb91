package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestOpenAPIDocument(t *testing.T) {
	s := newTestServer(t, storetest.SQLite(t))
	w := s.do(t, request{target: "/api/v1/openapi.json"})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET openapi.json = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	want := map[string][]string{
		"/api/v1/accounts":                                     {"get"},
		"/api/v1/accounts/{account_id}":                        {"get", "put", "patch", "delete"},
		"/api/v1/accounts/bulk":                                {"post"},
		"/api/v1/contacts":                                     {"get"},
		"/api/v1/contacts/{contact_id}":                        {"get", "put", "patch", "delete"},
		"/api/v1/contacts/bulk":                                {"post"},
		"/api/v1/subscriptions":                                {"get"},
		"/api/v1/subscriptions/{subscription_id}/{start_date}": {"get", "put", "patch", "delete"},
		"/api/v1/subscriptions/bulk":                           {"post"},
		"/api/v1/tickets":                                      {"get"},
		"/api/v1/tickets/{ticket_id}":                          {"get", "put", "patch", "delete"},
		"/api/v1/tickets/bulk":                                 {"post"},
		"/api/v1/responses":                                    {"get"},
		"/api/v1/responses/{response_id}":                      {"get", "put", "patch", "delete"},
		"/api/v1/responses/bulk":                               {"post"},
		"/api/v1/notes":                                        {"get", "post"},
		"/api/v1/notes/{note_id}":                              {"get", "put", "patch", "delete"},
		"/api/v1/notes/bulk":                                   {"post"},
		"/api/v1/handoffs":                                     {"get"},
		"/api/v1/handoffs/{account_id}":                        {"get", "put", "patch", "delete"},
		"/api/v1/handoffs/bulk":                                {"post"},
		"/api/v1/imports/{kind}":                               {"post"},
		"/api/v1/audit":                                        {"get"},
		"/api/v1/metrics/monthly":                              {"get"},
		"/api/v1/metrics/cohorts":                              {"get"},
		"/api/v1/metrics/surveys":                              {"get"},
		"/api/v1/metrics/renewals":                             {"get"},
		"/api/v1/accounts/{account_id}/snapshot":               {"get"},
		"/api/v1/snapshot/fields":                              {"get"},
		"/api/v1/jobs":                                         {"get"},
		"/api/v1/rules/check":                                  {"post"},
		"/api/v1/churn/train":                                  {"post"},
		"/api/v1/churn/survival":                               {"get"},
		"/api/v1/churn/scores":                                 {"get"},
		"/api/v1/segments":                                     {"get", "post"},
		"/api/v1/segments/{segment_id}":                        {"get", "put", "delete"},
		"/api/v1/segments/{segment_id}/members":                {"get"},
		"/api/v1/segments/{segment_id}/history":                {"get"},
		"/api/v1/coverage/tiers":                               {"get"},
		"/api/v1/coverage/ranking":                             {"get"},
		"/api/v1/coverage/workload":                            {"get"},
		"/api/v1/coverage/assign":                              {"post"},
		"/api/v1/clv":                                          {"get"},
		"/api/v1/accounts/{account_id}/owner":                  {"put"},
		"/api/v1/health/models":                                {"get", "post"},
		"/api/v1/health/models/{model_id}":                     {"get", "put", "delete"},
		"/api/v1/health/models/export":                         {"get"},
		"/api/v1/health/models/import":                         {"post"},
		"/api/v1/health/models/preview":                        {"post"},
		"/api/v1/health/models/{model_id}/backtest":            {"get"},
		"/api/v1/accounts/{account_id}/health":                 {"get"},
		"/api/v1/accounts/{account_id}/health/override":        {"put", "delete"},
		"/api/v1/accounts/{account_id}/sentiment":              {"get", "post"},
		"/api/v1/api-keys":                                     {"get", "post"},
		"/api/v1/api-keys/{key_id}":                            {"delete"},
		"/api/v1/users":                                        {"get", "post"},
		"/api/v1/tasks":                                        {"get", "post"},
		"/api/v1/tasks/{task_id}":                              {"get", "patch", "delete"},
		"/api/v1/queue":                                        {"get"},
		"/api/v1/playbooks":                                    {"get", "post"},
		"/api/v1/playbooks/validate":                           {"post"},
		"/api/v1/playbooks/{playbook_id}":                      {"get", "put", "delete"},
		"/api/v1/playbooks/{playbook_id}/enrollments":          {"get"},
		"/api/v1/deliveries":                                   {"get"},
		"/api/v1/deliveries/{delivery_id}/retry":               {"post"},
		"/api/v1/stages":                                       {"get", "post"},
		"/api/v1/stages/summary":                               {"get"},
		"/api/v1/stages/{stage_id}":                            {"get", "put", "delete"},
		"/api/v1/accounts/{account_id}/stages":                 {"get"},
		"/api/v1/journey":                                      {"get"},
		"/api/v1/journey/{stage_id}":                           {"put"},
		// Success plans, handoff completeness and prospects (issue 8).
		"/api/v1/success-plans":                                                {"get"},
		"/api/v1/accounts/{account_id}/success-plan":                           {"get", "put", "delete"},
		"/api/v1/accounts/{account_id}/success-plan/goals":                     {"post"},
		"/api/v1/accounts/{account_id}/success-plan/goals/{goal_id}":           {"get", "put", "delete"},
		"/api/v1/accounts/{account_id}/success-plan/goals/from-handoff":        {"post"},
		"/api/v1/accounts/{account_id}/success-plan/milestones":                {"post"},
		"/api/v1/accounts/{account_id}/success-plan/milestones/{milestone_id}": {"put", "delete"},
		"/api/v1/accounts/{account_id}/success-plan/shares":                    {"get", "post"},
		"/api/v1/accounts/{account_id}/success-plan/shares/{share_id}":         {"delete"},
		"/api/v1/handoffs/missing":                                             {"get"},
		"/api/v1/prospects":                                                    {"get"},
		"/api/v1/prospects/conversion":                                         {"get"},
		"/api/v1/prospects/{account_id}":                                       {"get", "patch"},
		"/api/v1/prospects/{account_id}/convert":                               {"post"},
		"/api/v1/onboarding/definition":                                        {"get", "put"},
		"/api/v1/onboarding/milestones":                                        {"get"},
		"/api/v1/onboarding/milestones/{milestone_id}":                         {"put", "delete"},
		"/api/v1/onboarding/report":                                            {"get"},
		"/api/v1/accounts/{account_id}/onboarding":                             {"get"},
		"/api/v1/accounts/{account_id}/onboarding/milestones/{milestone_id}":   {"put"},
		// Surveys and feedback (issue 9).
		"/api/v1/surveys":                              {"get", "post"},
		"/api/v1/surveys/{survey_id}":                  {"get", "put"},
		"/api/v1/surveys/{survey_id}/send":             {"post"},
		"/api/v1/surveys/{survey_id}/public-link":      {"post", "delete"},
		"/api/v1/feedback":                             {"get", "post"},
		"/api/v1/feedback/from-ticket":                 {"post"},
		"/api/v1/feedback/{feedback_id}":               {"get", "put"},
		"/api/v1/product-requests":                     {"get", "post"},
		"/api/v1/product-requests/{request_id}":        {"get", "put"},
		"/api/v1/product-requests/{request_id}/status": {"post"},
		"/api/v1/product-requests/{request_id}/merge":  {"post"},
		"/api/v1/faq-candidates":                       {"get"},
		// Programs and their results (issue 9).
		"/api/v1/programs":                                  {"get", "post"},
		"/api/v1/programs/correlations":                     {"get"},
		"/api/v1/programs/{program_id}":                     {"get", "put", "delete"},
		"/api/v1/programs/{program_id}/participants":        {"get", "post", "delete"},
		"/api/v1/programs/{program_id}/participants/import": {"post"},
		"/api/v1/programs/{program_id}/results":             {"get"},
		"/api/v1/goals":                                     {"get", "post"},
		"/api/v1/goals/{goal_id}":                           {"get", "put", "delete"},
	}
	for path, methods := range want {
		for _, m := range methods {
			op, ok := doc.Paths[path][m]
			if !ok {
				t.Errorf("the document lacks %s %s", strings.ToUpper(m), path)
				continue
			}
			// Every path parameter is declared.
			var params []string
			ps, _ := op["parameters"].([]any)
			for _, p := range ps {
				if p := p.(map[string]any); p["in"] == "path" {
					params = append(params, p["name"].(string))
				}
			}
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") && !slices.Contains(params, strings.Trim(seg, "{}")) {
					t.Errorf("%s %s does not declare the path parameter %s", m, path, seg)
				}
			}
		}
	}
	for path := range doc.Paths {
		if _, ok := want[path]; !ok {
			t.Errorf("the document has %s, which this test does not know", path)
		}
	}
	// No route serves documentation that would load scripts from a CDN.
	for _, p := range []string{"/api/v1/docs", "/docs", "/api/v1/openapi.yaml", "/api/v1/schemas/Ticket"} {
		if w := s.do(t, request{target: p, auth: true}); w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, w.Code)
		}
	}
}
