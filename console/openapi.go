package console

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the API's OpenAPI document, written by hand; a test checks
// that it has every API route of the table, with its method.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ principal) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPIDoc)
	return err
}
