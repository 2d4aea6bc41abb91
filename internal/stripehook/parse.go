package stripehook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/stripe/stripe-go/v84"

	"github.com/kizuna-cs/kizuna/internal/money"
)

// Payloads are decoded with stripe-go's types, which follow the API version
// stripe-go is built for. Endpoints may send older versions (see New), so the
// few fields that moved between versions and matter here are also read in
// their older places: a subscription's single `discount` object (replaced by
// the `discounts` list), its `current_period_end` (now on each item), and a
// discount's `coupon` (now under `source`).

// discount is a Stripe discount as far as MRR needs it.
type discount struct {
	id           string
	customer     string
	subscription string
	item         string // the subscription item it is limited to, if any
	invoice      string // the invoice it is limited to, if any
	start, end   int64
	coupon       *stripe.Coupon // nil when the payload names the discount only by id
}

// parseDiscount reads a discount that is either expanded or only an id;
// present is false for an absent or null one.
func parseDiscount(raw json.RawMessage) (d discount, present bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return d, false, nil
	}
	if id, ok := stripe.ParseID(raw); ok {
		return discount{id: id}, true, nil
	}
	var sd stripe.Discount
	if err := json.Unmarshal(raw, &sd); err != nil {
		return d, false, fmt.Errorf("discount: %w", err)
	}
	var legacy struct {
		Coupon *stripe.Coupon `json:"coupon"`
	}
	if err := json.Unmarshal(raw, &legacy); err != nil {
		return d, false, fmt.Errorf("discount %s: %w", sd.ID, err)
	}
	d = discount{id: sd.ID, subscription: sd.Subscription, item: sd.SubscriptionItem, invoice: sd.Invoice, start: sd.Start, end: sd.End, coupon: legacy.Coupon}
	if sd.Source != nil && sd.Source.Coupon != nil {
		d.coupon = sd.Source.Coupon
	}
	if sd.Customer != nil {
		d.customer = sd.Customer.ID
	}
	return d, true, nil
}

// parseDiscounts reads a list of discounts, dropping repeated ids.
func parseDiscounts(raws []json.RawMessage, into []discount) ([]discount, error) {
	for _, raw := range raws {
		d, ok, err := parseDiscount(raw)
		if err != nil {
			return nil, err
		}
		if ok && !slices.ContainsFunc(into, func(e discount) bool { return e.id != "" && e.id == d.id }) {
			into = append(into, d)
		}
	}
	return into, nil
}

// subscription is a Stripe subscription with what older API versions put
// elsewhere read into one place.
type subscription struct {
	*stripe.Subscription
	discounts     []discount            // subscription-level, in the order Stripe applies them
	itemDiscounts map[string][]discount // by subscription item id
	periodEnd     int64                 // end of the current billing period
}

// parseSubscription decodes a subscription object from an event.
func parseSubscription(raw json.RawMessage) (*subscription, error) {
	var s stripe.Subscription
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("subscription: %w", err)
	}
	if s.ID == "" || s.Customer == nil || s.Customer.ID == "" {
		return nil, errors.New("subscription: id and customer are required")
	}
	var aux struct {
		Discount         json.RawMessage   `json:"discount"`
		Discounts        []json.RawMessage `json:"discounts"`
		CurrentPeriodEnd int64             `json:"current_period_end"`
		Items            struct {
			Data []struct {
				ID        string            `json:"id"`
				Discounts []json.RawMessage `json:"discounts"`
			} `json:"data"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &aux); err != nil {
		return nil, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	out := &subscription{Subscription: &s, itemDiscounts: map[string][]discount{}, periodEnd: aux.CurrentPeriodEnd}
	var err error
	if out.discounts, err = parseDiscounts(append([]json.RawMessage{aux.Discount}, aux.Discounts...), nil); err != nil {
		return nil, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	for _, it := range aux.Items.Data {
		ds, err := parseDiscounts(it.Discounts, nil)
		if err != nil {
			return nil, fmt.Errorf("subscription %s item %s: %w", s.ID, it.ID, err)
		}
		if len(ds) > 0 {
			out.itemDiscounts[it.ID] = ds
		}
	}
	for _, it := range out.items() {
		out.periodEnd = max(out.periodEnd, it.CurrentPeriodEnd)
	}
	return out, nil
}

// items returns the subscription's items (none when the list is absent).
func (s *subscription) items() []*stripe.SubscriptionItem {
	if s.Items == nil {
		return nil
	}
	return s.Items.Data
}

// terminal reports whether a subscription status is final: Stripe never
// revives a canceled or expired subscription.
func terminal(status string) bool {
	return status == string(stripe.SubscriptionStatusCanceled) || status == string(stripe.SubscriptionStatusIncompleteExpired)
}

// end is when the subscription ends or is set to end (0: not set), as of
// observedAt, the time of the event that carried it.
func (s *subscription) end(observedAt int64) int64 {
	switch {
	case s.EndedAt > 0:
		return s.EndedAt
	case s.CancelAt > 0:
		return s.CancelAt
	case s.CancelAtPeriodEnd && s.periodEnd > 0:
		return s.periodEnd
	case terminal(string(s.Status)):
		if s.CanceledAt > 0 {
			return s.CanceledAt
		}
		return observedAt
	}
	return 0
}

// timeline prices the subscription over time, from its start to its end,
// with the given discounts (subscription-level ones in order, and item-level
// ones by item id), all resolved to their coupons. observedAt is the time of
// the event that carried the object. It also returns what it could not price.
func (s *subscription) timeline(subDiscounts []discount, itemDiscounts map[string][]discount, observedAt int64) (timeline, []string, error) {
	var (
		tl       timeline
		warnings []string
		items    []pricedItem
		plans    []string
		products []string
		licensed int
	)
	for _, it := range s.items() {
		p := it.Price
		if p == nil || p.Recurring == nil {
			warnings = append(warnings, fmt.Sprintf("item %s has no recurring price; it counts 0", it.ID))
			continue
		}
		if tl.currency == "" {
			tl.currency = strings.ToUpper(string(p.Currency))
		} else if !strings.EqualFold(tl.currency, string(p.Currency)) {
			return tl, nil, fmt.Errorf("subscription %s: items in %s and %s", s.ID, tl.currency, p.Currency)
		}
		factor, err := monthlyFactor(p.Recurring)
		if err != nil {
			return tl, nil, fmt.Errorf("subscription %s item %s: %w", s.ID, it.ID, err)
		}
		amount, known := invoiceAmount(p, it.Quantity)
		if !known {
			warnings = append(warnings, fmt.Sprintf("item %s: price %s is metered or tiered without its tiers; it counts 0", it.ID, p.ID))
		}
		product := ""
		if p.Product != nil {
			product = p.Product.ID
		}
		items = append(items, pricedItem{id: it.ID, product: product, monthly: amount.Mul(amount, factor), factor: factor})
		plans = append(plans, priceLabel(p))
		if product != "" && !slices.Contains(products, product) {
			products = append(products, product)
		}
		if p.Recurring.UsageType != stripe.PriceRecurringUsageTypeMetered {
			licensed++
			q := float64(it.Quantity)
			tl.quantity = &q
		}
	}
	if licensed != 1 {
		// Seats are only meaningful for a single licensed item.
		tl.quantity = nil
	}
	if tl.currency == "" {
		tl.currency = strings.ToUpper(string(s.Currency))
	}
	if _, err := money.Currency(tl.currency); err != nil {
		return tl, nil, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	slices.Sort(products)
	tl.plan, tl.product = strings.Join(plans, " + "), strings.Join(products, ",")

	start := s.StartDate
	if start == 0 {
		start = s.Created
	}
	if start == 0 {
		start = observedAt
	}
	end := s.end(observedAt)
	if end != 0 && end <= start {
		return tl, warnings, nil // ended before it started: no MRR at all
	}
	within := func(t int64) bool { return t > start && (end == 0 || t < end) }
	bounds := []int64{start}
	if within(s.TrialEnd) {
		bounds = append(bounds, s.TrialEnd)
	}
	all := slices.Clone(subDiscounts)
	for _, ds := range itemDiscounts {
		all = append(all, ds...)
	}
	for _, d := range all {
		for _, t := range []int64{d.start, discountEnd(d)} {
			if within(t) {
				bounds = append(bounds, t)
			}
		}
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)

	// Incomplete (first payment pending), expired and paused subscriptions
	// bring no revenue; a trial brings none until it ends.
	zero := s.Status == stripe.SubscriptionStatusIncomplete || s.Status == stripe.SubscriptionStatusIncompleteExpired ||
		s.Status == stripe.SubscriptionStatusPaused
	for i, b := range bounds {
		next := end
		if i+1 < len(bounds) {
			next = bounds[i+1]
		}
		var mrr int64
		if !zero && b >= s.TrialEnd {
			var err error
			if mrr, err = monthlyAt(items, subDiscounts, itemDiscounts, tl.currency, b); err != nil {
				return tl, nil, fmt.Errorf("subscription %s: %w", s.ID, err)
			}
		}
		if n := len(tl.segments); n > 0 && tl.segments[n-1].mrrMinor == mrr {
			tl.segments[n-1].end = next
			continue
		}
		tl.segments = append(tl.segments, segment{start: b, end: next, mrrMinor: mrr})
	}
	return tl, warnings, nil
}

// monthlyAt is the MRR of items at instant t with the discounts active then,
// in Kizuna's minor units. Item discounts apply before subscription ones.
func monthlyAt(items []pricedItem, subDiscounts []discount, itemDiscounts map[string][]discount, currency string, t int64) (int64, error) {
	if len(items) == 0 {
		return 0, nil
	}
	vals := make([]*big.Rat, len(items))
	for i, it := range items {
		vals[i] = new(big.Rat).Set(it.monthly)
		for _, d := range itemDiscounts[it.id] {
			if discountActive(d, t) {
				applyDiscount(vals[i:i+1], eligible(items[i:i+1], d), d, currency, it.factor)
			}
		}
	}
	for _, d := range subDiscounts {
		if discountActive(d, t) {
			// Every item of a subscription is billed on the same interval,
			// so an amount off each invoice is per that interval.
			applyDiscount(vals, eligible(items, d), d, currency, items[0].factor)
		}
	}
	sum := new(big.Rat)
	for _, v := range vals {
		sum.Add(sum, v)
	}
	return kizunaMinor(sum, currency)
}
