package kessel

import (
	"fmt"
	"sort"
)

// PartialWriteError is a store's answer to a batch of readings that it
// stored except for some it will never accept. Rejected maps the index of
// each refused reading in the batch to the store's reason; every other
// reading of the batch is stored. Its code is EINVALID.
type PartialWriteError struct {
	Rejected map[int]string
}

func (e *PartialWriteError) Error() string {
	idx := make([]int, 0, len(e.Rejected))
	for i := range e.Rejected {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	if len(idx) == 0 {
		return "partial write: nothing refused"
	}
	return fmt.Sprintf("partial write: %d readings refused, the first (#%d): %s", len(idx), idx[0], e.Rejected[idx[0]])
}

// Unwrap makes the error's code EINVALID.
func (e *PartialWriteError) Unwrap() error {
	return &Error{Code: EINVALID, Message: e.Error()}
}
