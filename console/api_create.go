package console

import (
	"net/http"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
)

// createTask is a route that queues a task for an agent from a JSON body
// of the CLI command's parameters (package control builds both): 202
// with where to follow it. The body is refused (400) as the command line
// would be, before a task exists.
func createTask[R any](s *Server, build func(R) (s3bridge.Task, error)) func(http.ResponseWriter, *http.Request, principal) error {
	return func(w http.ResponseWriter, r *http.Request, p principal) error {
		sv, err := s.instance(r.PathValue("instance"))
		if err != nil {
			return err
		}
		var req R
		if err := decodeBody(r, &req, false); err != nil {
			return err
		}
		t, err := build(req)
		if err != nil {
			return err
		}
		id, err := sv.in.Enqueue(r.Context(), t)
		if err != nil {
			return err
		}
		s.cfg.Log.Info("task queued", "instance", sv.id, "task", id, "type", t.Type, "by", p.name)
		return writeJSON(w, http.StatusAccepted, queued{Instance: sv.id, TaskID: id})
	}
}

func (s *Server) apiCreateUpload() func(http.ResponseWriter, *http.Request, principal) error {
	return createTask(s, control.UploadRequest.Task)
}

func (s *Server) apiCreateUploadFile() func(http.ResponseWriter, *http.Request, principal) error {
	return createTask(s, control.FileRequest.UploadTask)
}

func (s *Server) apiCreateDownload() func(http.ResponseWriter, *http.Request, principal) error {
	return createTask(s, control.DownloadRequest.Task)
}

func (s *Server) apiCreateDownloadFile() func(http.ResponseWriter, *http.Request, principal) error {
	return createTask(s, control.FileRequest.DownloadTask)
}

func (s *Server) apiCreateLoad() func(http.ResponseWriter, *http.Request, principal) error {
	return createTask(s, control.LoadRequest.Task)
}

func (s *Server) apiCreateExport() func(http.ResponseWriter, *http.Request, principal) error {
	return createTask(s, control.ExportRequest.Task)
}
