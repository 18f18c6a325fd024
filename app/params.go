package app

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"portico/app/fault"
)

// idParam is the record id in the route's :id. Routes declare :id<int>,
// but a number past what an id holds still gets here: like an id that
// names nothing, it is not found.
func idParam(c *fiber.Ctx) (uint64, error) {
	id, err := strconv.ParseUint(c.Params("id"), 10, 64)
	if err != nil {
		return 0, fault.Wrap(fault.NotFound, "", err)
	}
	return id, nil
}
