package ingest

import (
	"time"

	"github.com/kessel-city/kessel"
)

// Reasons for names and values that cannot be stored.
const (
	// ReasonReservedField: a field named after a column of the store
	// (_time, result, …) or a tag (device, district, …); see
	// kessel.ReservedFields.
	ReasonReservedField = "reserved_field"
	// ReasonReservedKind: a kind in Kessel's own namespace (kessel_…, _…).
	ReasonReservedKind = "reserved_kind"
	// ReasonBadTagValue: a department or district name the store cannot
	// carry as a tag (control characters, a trailing backslash, …).
	ReasonBadTagValue = "bad_tag_value"
)

// check is the last gate before a reading enters a batch: whatever the
// decoder let through and the registry added must be storable, so that
// one bad reading never makes the store refuse a batch. It returns nil
// for a storable reading, else why not.
func check(r *kessel.Reading, received time.Time, lim Limits) *Rejection {
	if rej := checkKind(r.Device, r.Kind); rej != nil {
		return rej
	}
	for _, tag := range [...]struct{ key, value string }{{"department", r.Department}, {"district", r.District}} {
		if err := kessel.ValidateTagValue(tag.key, tag.value); err != nil {
			return reject(ReasonBadTagValue, r.Device, "%s", kessel.ErrorMessage(err))
		}
	}
	if rej := checkTime(r.Time, received, lim); rej != nil {
		rej.Device = r.Device
		return rej
	}
	if len(r.Values) == 0 && r.Location == nil && len(r.Link) == 0 {
		return reject(ReasonEmptyValues, r.Device, "the reading has no values")
	}
	for k, v := range r.Link {
		if rej := checkField(r.Device, "link field", k, k); rej != nil {
			return rej
		}
		if err := kessel.ValidateValue(k, v); err != nil {
			return reject(ReasonNonFinite, r.Device, "%s", kessel.ErrorMessage(err))
		}
	}
	for k, v := range r.Values {
		if rej := checkField(r.Device, "field", k, k); rej != nil {
			return rej
		}
		if err := kessel.ValidateValue(k, v); err != nil {
			return reject(ReasonNonFinite, r.Device, "%s", kessel.ErrorMessage(err))
		}
	}
	if p := r.Location; p != nil && !kessel.ValidLonLat(p[0], p[1]) {
		return reject(ReasonBadLocation, r.Device, "location %v is not a WGS84 lon,lat", *p)
	}
	return nil
}

// checkField returns nil when name may name a value of a reading, else a
// rejection for device saying why; what and raw say where the name came
// from (the message's key before normalisation). It does not allocate for
// a good name.
func checkField(device, what, raw, name string) *Rejection {
	err := kessel.ValidateFieldName(name)
	if err == nil {
		return nil
	}
	reason := ReasonBadFieldName
	if kessel.ValidFieldName(name) {
		reason = ReasonReservedField
	}
	return reject(reason, device, "%s %q: %s", what, raw, kessel.ErrorMessage(err))
}

// checkTime refuses a time the store cannot hold, one too far ahead of
// now and, with Limits.MaxAge, one older than that.
func checkTime(ts, now time.Time, lim Limits) *Rejection {
	if ts.Before(kessel.MinTime) || ts.After(kessel.MaxTime) {
		return reject(ReasonBadTimestamp, "", "ts: %s", kessel.ErrorMessage(kessel.ValidateTime(ts)))
	}
	if ts.After(now.Add(lim.MaxFuture)) {
		return reject(ReasonFutureTimestamp, "", "ts %s is more than %s ahead of the server clock (%s)", ts.Format(time.RFC3339), lim.MaxFuture, now.UTC().Format(time.RFC3339))
	}
	if lim.MaxAge > 0 && ts.Before(now.Add(-lim.MaxAge)) {
		return reject(ReasonTooOld, "", "ts %s is older than the retention window of %s", ts.Format(time.RFC3339), lim.MaxAge)
	}
	return nil
}

// checkKind returns nil when kind may name a device kind (or is empty),
// else a rejection for device saying why.
func checkKind(device, kind string) *Rejection {
	err := kessel.ValidateKind(kind)
	if err == nil {
		return nil
	}
	reason := ReasonBadFieldName
	if kessel.ReservedKind(kind) {
		reason = ReasonReservedKind
	}
	return reject(reason, device, "%s", kessel.ErrorMessage(err))
}
