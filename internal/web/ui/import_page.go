package ui

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/jobs"
)

// An upload from the import page is at most maxUpload bytes (64 MiB);
// larger files go through `kizuna import`, which streams from disk. The
// request body may exceed the file by the form's other fields.
var maxUpload int64 = 64 << 20

const (
	uploadOverhead = 64 << 10
	// uploadTimeout is how long the upload may take to arrive: the
	// server's read timeout suits forms, not a 64 MiB file on a slow line.
	uploadTimeout = 15 * time.Minute
	// importTimeout bounds the import itself, which runs after the request.
	importTimeout = 30 * time.Minute
	// importWait is how long the upload request waits for a small import
	// to finish, so that its result shows at once instead of after a refresh.
	importWait = 2 * time.Second
	// The page lists the first maxShownErrors row errors and counts the rest,
	// as the CLI does.
	maxShownErrors = 100
	// Finished imports stay viewable for a day, at most keptImports of them.
	keptImports   = 100
	keptImportAge = 24 * time.Hour
)

// importJob is one upload being imported in the background. Imports run
// in the server's memory: the page polls the job, and the import itself is
// one transaction, so a server that stops mid-import writes nothing (the
// job is then unknown and the page says to upload again).
type importJob struct {
	ID, Kind, File, Actor string
	Size                  int64
	Started               time.Time
	Check                 bool

	rows, bytes atomic.Int64
	done        chan struct{}
	// Set before done is closed.
	res    *csvimport.Result
	failed bool
	ended  time.Time
}

// importJobs are the imports of this process, by id.
var importJobs = struct {
	sync.Mutex
	m map[string]*importJob
}{m: map[string]*importJob{}}

func addImportJob(j *importJob) {
	importJobs.Lock()
	defer importJobs.Unlock()
	var finished []*importJob
	for id, o := range importJobs.m {
		select {
		case <-o.done:
			if time.Since(o.ended) > keptImportAge {
				delete(importJobs.m, id)
			} else {
				finished = append(finished, o)
			}
		default:
		}
	}
	if len(finished) >= keptImports {
		slices.SortFunc(finished, func(a, b *importJob) int { return a.ended.Compare(b.ended) })
		for _, o := range finished[:len(finished)-keptImports+1] {
			delete(importJobs.m, o.ID)
		}
	}
	importJobs.m[j.ID] = j
}

func importJobByID(id string) *importJob {
	importJobs.Lock()
	defer importJobs.Unlock()
	return importJobs.m[id]
}

// importForm is the import page: the form, its values and its problems.
type importForm struct {
	Kinds          []importKind
	Kind           string
	Map            string
	SkipInvalid    bool
	CreateAccounts bool
	Errors         map[string]string
	MaxMB          int64
}

type importKind struct {
	Name    string
	Columns string
	Custom  bool
}

func newImportForm() *importForm {
	f := &importForm{Errors: map[string]string{}, MaxMB: maxUpload >> 20}
	for _, k := range csvimport.Kinds {
		cols, custom := csvimport.Columns(k)
		f.Kinds = append(f.Kinds, importKind{Name: k, Columns: strings.Join(cols, ", "), Custom: custom})
	}
	return f
}

func (u *UI) importPage(w http.ResponseWriter, rq *Request) error {
	f := newImportForm()
	f.Kind = rq.URL.Query().Get("kind")
	return u.render(w, rq, http.StatusOK, "import", rq.Loc.T("Import"), f)
}

// postImport takes an upload. It is registered as a page, not an action,
// because an action bounds the body to a form's size; so it bounds the
// body and checks the CSRF token itself.
func (u *UI) postImport(w http.ResponseWriter, rq *Request) error {
	rc := http.NewResponseController(w)
	// Errors mean the writer cannot extend deadlines (a test recorder).
	rc.SetReadDeadline(time.Now().Add(uploadTimeout))
	rq.Body = http.MaxBytesReader(w, rq.Body, maxUpload+uploadOverhead)
	f := newImportForm()
	if err := rq.ParseMultipartForm(1 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			f.Errors["file"] = rq.Loc.T("The file is larger than %d MiB; nothing was imported. Import larger files with kizuna import on the server.", f.MaxMB)
			return u.render(w, rq, http.StatusRequestEntityTooLarge, "import", rq.Loc.T("Import"), f)
		}
		return Errorf(http.StatusBadRequest, rq.Loc.T("The form could not be read: %s", err.Error()))
	}
	if rq.MultipartForm != nil {
		defer rq.MultipartForm.RemoveAll()
	}
	if got := rq.PostFormValue("csrf"); got == "" || got != rq.CSRF {
		return Errorf(http.StatusForbidden, rq.Loc.T("This form has expired. Reload the page and try again."))
	}
	f.Kind, f.Map = rq.PostFormValue("kind"), rq.PostFormValue("map")
	f.SkipInvalid, f.CreateAccounts = rq.PostFormValue("skip_invalid") != "", rq.PostFormValue("create_accounts") != ""
	if !csvimport.KnownKind(f.Kind) {
		f.Errors["kind"] = rq.Loc.T("Choose what the file holds.")
	}
	mapping, bad := parseMapping(f.Map)
	if bad != "" {
		f.Errors["map"] = rq.Loc.T("%q is not SRC=DST.", bad)
	}
	file, header, err := rq.FormFile("file")
	if err != nil || header.Size == 0 {
		f.Errors["file"] = rq.Loc.T("Choose a CSV file that is not empty.")
	}
	if len(f.Errors) > 0 {
		return u.render(w, rq, http.StatusUnprocessableEntity, "import", rq.Loc.T("Import"), f)
	}
	defer file.Close()
	name := filepath.Base(strings.ReplaceAll(header.Filename, `\`, "/"))
	if len(name) > 255 || name == "." || name == "/" {
		name = "upload.csv"
	}
	// The request's multipart files are removed when it ends; the
	// background import reads its own copy.
	tmp, err := os.CreateTemp("", "kizuna-import-*.csv")
	if err != nil {
		return fmt.Errorf("import: spool the upload: %w", err)
	}
	size, err := io.Copy(tmp, file)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("import: spool the upload: %w", err)
	}
	var id [8]byte
	rand.Read(id[:])
	j := &importJob{ID: "imp_" + hex.EncodeToString(id[:]), Kind: f.Kind, File: name, Actor: audit.UserActor(rq.User.Email),
		Size: size, Started: time.Now(), Check: rq.PostFormValue("mode") == "check", done: make(chan struct{})}
	opts := csvimport.Options{SkipInvalid: f.SkipInvalid, CreateAccounts: f.CreateAccounts, Map: mapping,
		MaxErrors: maxShownErrors, CheckOnly: j.Check}
	addImportJob(j)
	go u.runImport(j, tmp, opts)
	select {
	case <-j.done:
	case <-time.After(importWait):
	case <-rq.Context().Done():
	}
	http.Redirect(w, rq.Request, "/import/"+j.ID, http.StatusSeeOther)
	return nil
}

// parseMapping reads SRC=DST pairs, one a line or separated by commas; it
// returns the first pair that is not one.
func parseMapping(s string) (map[string]string, string) {
	m := map[string]string{}
	for _, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		src, dst, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(src) == "" {
			return nil, strings.TrimSpace(pair)
		}
		m[strings.TrimSpace(src)] = strings.TrimSpace(dst)
	}
	return m, ""
}

// runImport imports the spooled file in its own context (the upload's
// request has ended) and records the committed import in the audit log
// in the import's own transaction.
func (u *UI) runImport(j *importJob, tmp *os.File, opts csvimport.Options) {
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
		j.ended = time.Now()
		close(j.done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), importTimeout)
	defer cancel()
	opts.Progress = j.bytes.Store
	opts.RowsRead = j.rows.Store
	opts.BeforeCommit = func(ctx context.Context, tx *sql.Tx, res *csvimport.Result) error {
		c := *res
		c.Committed = true // it is about to be: RecordImport records committed imports only
		return audit.RecordImport(ctx, tx, j.Actor, &c)
	}
	res, err := csvimport.Import(ctx, u.db, j.Kind, j.File, tmp, opts)
	if err != nil && !errors.Is(err, csvimport.ErrInvalid) {
		u.log.Error("import failed", "kind", j.Kind, "file", j.File, "actor", j.Actor, "err", err)
		j.failed = true
	}
	if res != nil && res.Changed() {
		jobs.ChangedAll(ctx)
	}
	j.res = res
}

// importJobView is the page of one import.
type importJobView struct {
	Job       *importJob
	Running   bool
	Rows      int64
	Percent   int
	Result    *csvimport.Result
	Failed    bool
	Errors    []string // as the CLI prints them
	MoreCount int64
}

func (u *UI) importJobPage(w http.ResponseWriter, rq *Request) error {
	j := importJobByID(rq.PathValue("id"))
	if j == nil {
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no such import. Imports run in the server's memory: if the server restarted, an unfinished import wrote nothing (it is one transaction); upload the file again."))
	}
	v := importJobView{Job: j}
	select {
	case <-j.done:
		v.Result, v.Failed = j.res, j.failed
		if r := j.res; r != nil {
			for _, e := range r.Errors {
				v.Errors = append(v.Errors, e.String())
			}
			v.MoreCount = r.ErrorCount - int64(len(r.Errors))
		}
	default:
		v.Running, v.Rows = true, j.rows.Load()
		if j.Size > 0 {
			v.Percent = int(100 * j.bytes.Load() / j.Size)
		}
	}
	return u.render(w, rq, http.StatusOK, "import_job", rq.Loc.T("Import of %s", j.File), v)
}
