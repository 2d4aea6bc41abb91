package stripehook

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/kizuna-cs/kizuna/internal/billing"
)

var (
	jan1 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	feb1 = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC).Unix()
	mar1 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	apr1 = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC).Unix()
)

func recurringPrice(amount int64, currency string, interval stripe.PriceRecurringInterval, count int64) *stripe.Price {
	return &stripe.Price{ID: "price_x", Currency: stripe.Currency(currency), UnitAmount: amount,
		BillingScheme: stripe.PriceBillingSchemePerUnit, Product: &stripe.Product{ID: "prod_x"},
		Recurring: &stripe.PriceRecurring{Interval: interval, IntervalCount: count, UsageType: stripe.PriceRecurringUsageTypeLicensed}}
}

// sub builds an active subscription started on jan1 with one item per price.
func sub(qty int64, prices ...*stripe.Price) *subscription {
	s := &stripe.Subscription{ID: "sub_x", Customer: &stripe.Customer{ID: "cus_x"}, Status: stripe.SubscriptionStatusActive,
		StartDate: jan1, Items: &stripe.SubscriptionItemList{}}
	for i, p := range prices {
		s.Items.Data = append(s.Items.Data, &stripe.SubscriptionItem{ID: fmt.Sprintf("si_%d", i), Price: p, Quantity: qty, CurrentPeriodEnd: feb1})
	}
	return &subscription{Subscription: s, itemDiscounts: map[string][]discount{}, periodEnd: feb1}
}

func coupon(percent float64, amountOff int64, currency string, duration stripe.CouponDuration, months int64) discount {
	return discount{id: "di_x", start: jan1, coupon: &stripe.Coupon{ID: "co_x", PercentOff: percent, AmountOff: amountOff,
		Currency: stripe.Currency(currency), Duration: duration, DurationInMonths: months}}
}

// mrrNow prices s with subscription-level discounts ds at jan1.
func mrrNow(t *testing.T, s *subscription, ds ...discount) int64 {
	t.Helper()
	tl, _, err := s.timeline(ds, s.itemDiscounts, jan1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.segments) == 0 {
		return -1
	}
	return tl.segments[0].mrrMinor
}

func TestNormalisation(t *testing.T) {
	for _, c := range []struct {
		name     string
		s        *subscription
		want     int64
		currency string
	}{
		{"monthly 2 × 49.00", sub(2, recurringPrice(4900, "usd", "month", 1)), 9800, "USD"},
		{"yearly 1,200.00 ÷ 12", sub(1, recurringPrice(120000, "eur", "year", 1)), 10000, "EUR"},
		{"every 2 years", sub(1, recurringPrice(240000, "eur", "year", 2)), 10000, "EUR"},
		{"quarterly ÷ 3", sub(1, recurringPrice(30000, "usd", "month", 3)), 10000, "USD"},
		{"weekly × 52/12", sub(1, recurringPrice(1000, "usd", "week", 1)), 4333, "USD"},          // 43.333…
		{"every 2 weeks", sub(3, recurringPrice(1000, "usd", "week", 2)), 6500, "USD"},           // 3 × 10 × 26/12 = 65
		{"daily × 365/12", sub(1, recurringPrice(100, "usd", "day", 1)), 3042, "USD"},            // 30.4166…
		{"JPY has no minor unit", sub(3, recurringPrice(5000, "jpy", "month", 1)), 15000, "JPY"}, // ¥15,000
		{"JPY yearly rounds to the yen", sub(1, recurringPrice(10000, "jpy", "year", 1)), 833, "JPY"},
		{"ISK: Stripe counts two decimals, Kizuna none", sub(1, recurringPrice(500000, "isk", "month", 1)), 5000, "ISK"},
		{"KWD has three decimals", sub(1, recurringPrice(12000, "kwd", "year", 1)), 1000, "KWD"},
		{"two items summed", sub(1, recurringPrice(4900, "usd", "month", 1), recurringPrice(1000, "usd", "month", 1)), 5900, "USD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl, warnings, err := c.s.timeline(nil, nil, jan1)
			if err != nil || len(warnings) > 0 {
				t.Fatalf("timeline: %v %v", err, warnings)
			}
			if len(tl.segments) != 1 || tl.segments[0].mrrMinor != c.want || tl.currency != c.currency || tl.segments[0].end != 0 {
				t.Errorf("timeline = %+v, want one open segment of %d %s", tl, c.want, c.currency)
			}
		})
	}
}

func TestPricingSchemes(t *testing.T) {
	decimalPrice := recurringPrice(0, "usd", "month", 1)
	decimalPrice.UnitAmountDecimal = 0.5 // half a cent a unit
	packages := recurringPrice(1000, "usd", "month", 1)
	packages.TransformQuantity = &stripe.PriceTransformQuantity{DivideBy: 10, Round: stripe.PriceTransformQuantityRoundUp}
	tiers := []*stripe.PriceTier{{UpTo: 5, UnitAmount: 1000}, {UpTo: 10, UnitAmount: 800, FlatAmount: 500}, {UnitAmount: 500}}
	volume := recurringPrice(0, "usd", "month", 1)
	volume.BillingScheme, volume.TiersMode, volume.Tiers = stripe.PriceBillingSchemeTiered, stripe.PriceTiersModeVolume, tiers
	graduated := recurringPrice(0, "usd", "month", 1)
	graduated.BillingScheme, graduated.TiersMode, graduated.Tiers = stripe.PriceBillingSchemeTiered, stripe.PriceTiersModeGraduated, tiers
	for _, c := range []struct {
		name string
		p    *stripe.Price
		qty  int64
		want int64
	}{
		{"unit_amount_decimal", decimalPrice, 1001, 501}, // 500.5 cents rounds half up
		{"packages of 10, rounded up", packages, 21, 3000},
		{"volume: all 7 at the second tier", volume, 7, 7*800 + 500},
		{"volume: 12 at the last tier", volume, 12, 12 * 500},
		{"graduated", graduated, 12, 5*1000 + 5*800 + 500 + 2*500},
		{"graduated within the first tier", graduated, 3, 3 * 1000},
	} {
		if got := mrrNow(t, sub(c.qty, c.p)); got != c.want {
			t.Errorf("%s: MRR %d, want %d", c.name, got, c.want)
		}
	}

	// Metered prices and tiers left out of the payload cannot be priced: 0, with a warning.
	metered := recurringPrice(100, "usd", "month", 1)
	metered.Recurring.UsageType = stripe.PriceRecurringUsageTypeMetered
	noTiers := recurringPrice(0, "usd", "month", 1)
	noTiers.BillingScheme = stripe.PriceBillingSchemeTiered
	for _, p := range []*stripe.Price{metered, noTiers} {
		tl, warnings, err := sub(3, p).timeline(nil, nil, jan1)
		if err != nil || len(warnings) != 1 || tl.segments[0].mrrMinor != 0 {
			t.Errorf("unpriceable %+v: %+v, %v, %v", p, tl, warnings, err)
		}
	}
	if _, _, err := sub(1, recurringPrice(100, "usd", "month", 1), recurringPrice(100, "eur", "month", 1)).timeline(nil, nil, jan1); err == nil {
		t.Error("items in two currencies were accepted")
	}
}

func TestDiscounts(t *testing.T) {
	monthly := func() *subscription { return sub(2, recurringPrice(4900, "usd", "month", 1)) }
	yearly := sub(1, recurringPrice(120000, "eur", "year", 1))
	limited := coupon(50, 0, "", stripe.CouponDurationForever, 0)
	limited.coupon.AppliesTo = &stripe.CouponAppliesTo{Products: []string{"prod_addon"}}
	addon := recurringPrice(1000, "usd", "month", 1)
	addon.Product = &stripe.Product{ID: "prod_addon"}
	multiCurrency := coupon(0, 1000, "usd", stripe.CouponDurationForever, 0)
	multiCurrency.coupon.CurrencyOptions = map[string]*stripe.CouponCurrencyOptions{"eur": {AmountOff: 2400}}
	for _, c := range []struct {
		name string
		s    *subscription
		ds   []discount
		want int64
	}{
		{"20 % forever", monthly(), []discount{coupon(20, 0, "", stripe.CouponDurationForever, 0)}, 7840},
		{"33.33 %", monthly(), []discount{coupon(33.33, 0, "", stripe.CouponDurationForever, 0)}, 6534}, // 65.3366
		{"10.00 off each monthly invoice", monthly(), []discount{coupon(0, 1000, "usd", stripe.CouponDurationForever, 0)}, 8800},
		{"120.00 off each yearly invoice is 10.00 a month", yearly, []discount{coupon(0, 12000, "eur", stripe.CouponDurationForever, 0)}, 9000},
		{"amount in another currency does not apply", yearly, []discount{coupon(0, 12000, "usd", stripe.CouponDurationForever, 0)}, 10000},
		{"currency_options give the amount", yearly, []discount{multiCurrency}, 9800},
		{"more off than the price gives 0", monthly(), []discount{coupon(0, 100000, "usd", stripe.CouponDurationForever, 0)}, 0},
		{"once is a one-off", monthly(), []discount{coupon(50, 0, "", stripe.CouponDurationOnce, 0)}, 9800},
		{"two discounts in order", monthly(), []discount{coupon(0, 1800, "usd", stripe.CouponDurationForever, 0), coupon(50, 0, "", stripe.CouponDurationForever, 0)}, 4000},
		{"limited to a product", sub(1, recurringPrice(4900, "usd", "month", 1), addon), []discount{limited}, 4900 + 500},
	} {
		if got := mrrNow(t, c.s, c.ds...); got != c.want {
			t.Errorf("%s: MRR %d, want %d", c.name, got, c.want)
		}
	}

	// An item discount applies before the subscription's.
	s := sub(1, recurringPrice(4900, "usd", "month", 1), addon)
	s.itemDiscounts["si_1"] = []discount{coupon(100, 0, "", stripe.CouponDurationForever, 0)}
	if got := mrrNow(t, s, coupon(10, 0, "", stripe.CouponDurationForever, 0)); got != 4410 {
		t.Errorf("item then subscription discount: MRR %d, want 4410", got)
	}

	// A repeating coupon ends duration_in_months after its start when the
	// discount carries no end.
	tl, _, err := monthly().timeline([]discount{coupon(50, 0, "", stripe.CouponDurationRepeating, 2)}, nil, jan1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []segment{{jan1, mar1, 4900}, {mar1, 0, 9800}}; fmt.Sprint(tl.segments) != fmt.Sprint(want) {
		t.Errorf("repeating coupon: %v, want %v", tl.segments, want)
	}
}

func TestLifecycle(t *testing.T) {
	trial := sub(1, recurringPrice(4900, "usd", "month", 1))
	trial.Status, trial.TrialStart, trial.TrialEnd = stripe.SubscriptionStatusTrialing, jan1, feb1
	atPeriodEnd := sub(1, recurringPrice(4900, "usd", "month", 1))
	atPeriodEnd.CancelAtPeriodEnd, atPeriodEnd.CanceledAt = true, jan1+86400
	canceledInTrial := sub(1, recurringPrice(4900, "usd", "month", 1))
	canceledInTrial.Status, canceledInTrial.TrialEnd, canceledInTrial.EndedAt = stripe.SubscriptionStatusCanceled, mar1, feb1
	paused := sub(1, recurringPrice(4900, "usd", "month", 1))
	paused.Status = stripe.SubscriptionStatusPaused
	cancelAt := sub(1, recurringPrice(4900, "usd", "month", 1))
	cancelAt.CancelAt = apr1
	for _, c := range []struct {
		name string
		s    *subscription
		want []segment
	}{
		{"trialing: 0 until the trial ends", trial, []segment{{jan1, feb1, 0}, {feb1, 0, 4900}}},
		{"cancel_at_period_end ends at the period's end", atPeriodEnd, []segment{{jan1, feb1, 4900}}},
		{"cancel_at", cancelAt, []segment{{jan1, apr1, 4900}}},
		{"canceled during the trial never pays", canceledInTrial, []segment{{jan1, feb1, 0}}},
		{"paused brings nothing", paused, []segment{{jan1, 0, 0}}},
	} {
		tl, _, err := c.s.timeline(nil, nil, jan1)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(tl.segments) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, tl.segments, c.want)
		}
	}
}

func TestPlanPeriods(t *testing.T) {
	at := func(ts int64) time.Time { return time.Unix(ts, 0).UTC() }
	ptr := func(ts int64) *time.Time { v := at(ts); return &v }
	p := func(start int64, end int64, mrr int64) billing.Period {
		q := billing.Period{SubscriptionID: "sub_x", AccountID: "a", Start: at(start), MRRMinor: mrr, Currency: "USD", Plan: "pro", Product: "prod_x"}
		if end != 0 {
			q.End = ptr(end)
		}
		return q
	}
	tl := func(segs ...segment) timeline {
		return timeline{currency: "USD", plan: "pro", product: "prod_x", segments: segs}
	}
	mid := jan1 + 40*86400
	for _, c := range []struct {
		name     string
		existing []billing.Period
		tl       timeline
		from     *int64
		want     []billing.Period
	}{
		{"first event: the whole timeline", nil, tl(segment{jan1, feb1, 0}, segment{feb1, 0, 4900}), nil,
			[]billing.Period{p(jan1, feb1, 0), p(feb1, 0, 4900)}},
		{"same terms: untouched", []billing.Period{p(jan1, 0, 4900)}, tl(segment{jan1, 0, 4900}), &mid,
			[]billing.Period{p(jan1, 0, 4900)}},
		{"price change: closed and opened at the change", []billing.Period{p(jan1, 0, 4900)}, tl(segment{jan1, 0, 9900}), &mid,
			[]billing.Period{p(jan1, mid, 4900), p(mid, 0, 9900)}},
		{"cancel at period end: the end is set", []billing.Period{p(jan1, 0, 4900)}, tl(segment{jan1, mar1, 4900}), &mid,
			[]billing.Period{p(jan1, mar1, 4900)}},
		{"cancellation withdrawn: open again", []billing.Period{p(jan1, mar1, 4900)}, tl(segment{jan1, 0, 4900}), &mid,
			[]billing.Period{p(jan1, 0, 4900)}},
		{"trial converted after its end: the foreseen period stays", []billing.Period{p(jan1, feb1, 0), p(feb1, 0, 4900)},
			tl(segment{jan1, feb1, 0}, segment{feb1, 0, 4900}), &mid, []billing.Period{p(jan1, feb1, 0), p(feb1, 0, 4900)}},
		{"trial canceled at its end: the foreseen period goes", []billing.Period{p(jan1, feb1, 0), p(feb1, 0, 4900)},
			tl(segment{jan1, feb1, 0}), ptrInt(feb1), []billing.Period{p(jan1, feb1, 0)}},
	} {
		got := planPeriods(c.existing, c.tl, "sub_x", "a", c.from)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
}

func ptrInt(v int64) *int64 { return &v }

func TestParseLegacyDiscount(t *testing.T) {
	// Before the clover API versions a discount carried its coupon itself.
	d, ok, err := parseDiscount(json.RawMessage(`{"id":"di_1","object":"discount","coupon":{"id":"X","percent_off":15,"duration":"forever"},"customer":"cus_1","start":100,"end":null,"subscription":"sub_1"}`))
	if err != nil || !ok || d.coupon == nil || d.coupon.PercentOff != 15 || d.customer != "cus_1" || d.subscription != "sub_1" {
		t.Errorf("legacy discount = %+v, %v, %v", d, ok, err)
	}
	d, ok, err = parseDiscount(json.RawMessage(`"di_2"`))
	if err != nil || !ok || d.id != "di_2" || d.coupon != nil {
		t.Errorf("discount by id = %+v, %v, %v", d, ok, err)
	}
	if _, ok, err := parseDiscount(json.RawMessage(`null`)); ok || err != nil {
		t.Errorf("null discount: %v, %v", ok, err)
	}
}
