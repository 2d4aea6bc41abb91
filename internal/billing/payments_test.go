package billing_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestPayments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a1", "a2")
		at := func(d int) time.Time { return day(2025, 3, d).Add(9 * time.Hour) }
		record := []billing.Payment{
			{AccountID: "a1", InvoiceID: "in_1", Kind: billing.PaymentFailed, AmountMinor: 9800, Currency: "usd", At: at(1)},
			{AccountID: "a1", InvoiceID: "in_1", Kind: billing.PaymentFailed, AmountMinor: 9800, Currency: "USD", At: at(4)},
			{AccountID: "a1", InvoiceID: "in_1", Kind: billing.PaymentPaid, AmountMinor: 9800, Currency: "USD", At: at(6)},
			{AccountID: "a1", InvoiceID: "in_2", Kind: billing.PaymentFailed, AmountMinor: 5000, Currency: "JPY", At: at(20)},
			{AccountID: "a2", InvoiceID: "in_3", Kind: billing.PaymentFailed, AmountMinor: 100, Currency: "EUR", At: at(2)},
		}
		for _, p := range record {
			inserted, err := billing.RecordPayment(ctx, db, p)
			if err != nil || !inserted {
				t.Fatalf("RecordPayment(%+v) = %v, %v; want inserted", p, inserted, err)
			}
		}
		// The same attempt again (a redelivered webhook) is not a second failure.
		if inserted, err := billing.RecordPayment(ctx, db, record[0]); err != nil || inserted {
			t.Fatalf("RecordPayment again = %v, %v; want not inserted", inserted, err)
		}
		for _, bad := range []billing.Payment{
			{AccountID: "a1", InvoiceID: "in_9", Kind: "refunded", Currency: "USD", At: at(1)},
			{AccountID: "a1", InvoiceID: "in_9", Kind: billing.PaymentPaid, Currency: "XYZ", At: at(1)},
			{AccountID: "", InvoiceID: "in_9", Kind: billing.PaymentPaid, Currency: "USD", At: at(1)},
			{AccountID: "nobody", InvoiceID: "in_9", Kind: billing.PaymentPaid, Currency: "USD", At: at(1)}, // foreign key
		} {
			if _, err := billing.RecordPayment(ctx, db, bad); err == nil {
				t.Errorf("RecordPayment(%+v) succeeded, want an error", bad)
			}
		}

		n, err := billing.CountPaymentFailures(ctx, db, "a1", at(1), at(20))
		if err != nil || n != 2 {
			t.Errorf("CountPaymentFailures(a1, [1, 20)) = %d, %v; want 2 (the end is exclusive)", n, err)
		}
		failed, err := billing.Payments(ctx, db, "a1", billing.PaymentFailed, at(1), at(21))
		if err != nil {
			t.Fatal(err)
		}
		if want := []billing.Payment{record[0], record[1], record[3]}; len(failed) != 3 ||
			failed[0].At != want[0].At || failed[2].InvoiceID != "in_2" || failed[0].Currency != "USD" || failed[2].AmountMinor != 5000 {
			t.Errorf("Payments(a1, failed) = %+v, want %+v", failed, want)
		}
		all, err := billing.Payments(ctx, db, "a1", "", at(1), at(31))
		if err != nil || len(all) != 4 {
			t.Errorf("Payments(a1, any kind) = %d rows, %v; want 4", len(all), err)
		}
		counts, err := billing.PaymentFailureCounts(ctx, db, at(1), at(31))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"a1": 3, "a2": 1}; !reflect.DeepEqual(counts, want) {
			t.Errorf("PaymentFailureCounts = %v, want %v", counts, want)
		}

		moved, err := billing.MovePayments(ctx, db, []string{"in_2", "in_3", "in_none"}, "a2")
		if err != nil || moved != 1 {
			t.Fatalf("MovePayments = %d, %v; want 1 (in_3 is already a2's)", moved, err)
		}
		if counts, err = billing.PaymentFailureCounts(ctx, db, at(1), at(31)); err != nil || !reflect.DeepEqual(counts, map[string]int64{"a1": 2, "a2": 2}) {
			t.Errorf("after MovePayments: PaymentFailureCounts = %v, %v", counts, err)
		}
	})
}
