package console

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/engine"
)

// storageForm is the Backup Configuration form: the storageProperties a
// Mission Control user fills in. Other properties of a configuration (set
// in the inventory) are kept as they are.
type storageForm struct {
	Edit             bool
	Action           string
	Name             string
	StorageProvider  string
	BucketName       string
	Prefix           string
	Region           string
	Host             string
	Port             string
	Secure           bool
	CredentialsFile  string
	StorageSecretRef string
	Providers        []string
	Kept             []string // other properties, kept
	Errors           map[string]string
	FormError        string
	Source           string
}

// formFields are the storageProperties the form edits.
var formFields = []string{"storageProvider", "bucketName", "prefix", "region", "host", "port", "secure", "credentialsFile", "storageSecretRef"}

func newStorageForm() *storageForm {
	return &storageForm{Action: "/storage", StorageProvider: "s3_compatible", Secure: true, Providers: config.StorageProviders(), Errors: map[string]string{}}
}

func formOf(e storageEntry) *storageForm {
	sp := e.Properties
	f := newStorageForm()
	f.Edit, f.Action, f.Source = true, "/storage/"+pathEscape(e.Name), e.Source
	f.Name, f.StorageProvider, f.BucketName, f.Prefix, f.Region, f.Host = e.Name, sp.StorageProvider, sp.BucketName, sp.Prefix, sp.Region, sp.Host
	if sp.Port != 0 {
		f.Port = strconv.Itoa(sp.Port)
	}
	f.Secure, f.CredentialsFile, f.StorageSecretRef = sp.IsSecure(), sp.CredentialsFile, e.SecretRef
	props := e.InventoryItem()["storageProperties"].(map[string]any)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if !slices.Contains(formFields, k) {
			f.Kept = append(f.Kept, k)
		}
	}
	return f
}

func (f *storageForm) read(r *http.Request) {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	if !f.Edit {
		f.Name = get("name")
	}
	f.StorageProvider, f.BucketName, f.Prefix, f.Region, f.Host, f.Port = get("storageProvider"), get("bucketName"), get("prefix"), get("region"), get("host"), get("port")
	f.Secure = r.PostFormValue("secure") != ""
	f.CredentialsFile, f.StorageSecretRef = get("credentialsFile"), get("storageSecretRef")
}

// item is the configuration as an inventory item: base's properties (when
// modifying) with the form's fields over them.
func (f *storageForm) item(base *control.StorageConfig) map[string]any {
	props := map[string]any{}
	if base != nil {
		maps.Copy(props, base.InventoryItem()["storageProperties"].(map[string]any))
	}
	for k, v := range map[string]string{"storageProvider": f.StorageProvider, "bucketName": f.BucketName, "prefix": f.Prefix,
		"region": f.Region, "host": f.Host, "port": f.Port, "credentialsFile": f.CredentialsFile} {
		delete(props, k)
		if v != "" {
			props[k] = v
		}
	}
	delete(props, "storageSecretRef")
	if f.StorageSecretRef != "" {
		props["storageSecretRef"] = map[string]any{"name": f.StorageSecretRef}
	}
	delete(props, "secure") // checked is the default: TLS
	if !f.Secure {
		props["secure"] = false
	}
	return map[string]any{"name": f.Name, "storageProperties": props}
}

func (f *storageForm) setError(err error) {
	var fe *fieldError
	if errors.As(err, &fe) && fe.Field != "" {
		f.Errors[fe.Field] = fe.Msg
		return
	}
	f.FormError = fileerr.OneLine(err.Error())
}

func (s *Server) storageList(w http.ResponseWriter, r *http.Request) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	s.render(w, http.StatusOK, "storage", s.view(r, "storage", cl.Name, "Backup Configuration", s.storage.list()))
}

func (s *Server) storageNew(w http.ResponseWriter, r *http.Request) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	s.render(w, http.StatusOK, "storage_form", s.view(r, "storage", cl.Name, "Create Backup Configuration", newStorageForm()))
}

func (s *Server) storageEdit(w http.ResponseWriter, r *http.Request) {
	e, ok := s.storage.get(r.PathValue("name"))
	if !ok {
		s.notFound(w, r, "no storage configuration "+strconv.Quote(r.PathValue("name")))
		return
	}
	cl := s.cluster(r.URL.Query().Get("cluster"))
	s.render(w, http.StatusOK, "storage_form", s.view(r, "storage", cl.Name, "Modify Backup Configuration", formOf(e)))
}

func (s *Server) storageCreate(w http.ResponseWriter, r *http.Request) {
	f := newStorageForm()
	f.read(r)
	s.saveStorage(w, r, f, nil)
}

func (s *Server) storageUpdate(w http.ResponseWriter, r *http.Request) {
	e, ok := s.storage.get(r.PathValue("name"))
	if !ok {
		s.notFound(w, r, "no storage configuration "+strconv.Quote(r.PathValue("name")))
		return
	}
	f := formOf(e)
	f.read(r)
	s.saveStorage(w, r, f, e.StorageConfig)
}

func (s *Server) saveStorage(w http.ResponseWriter, r *http.Request, f *storageForm, base *control.StorageConfig) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	title := "Create Backup Configuration"
	if f.Edit {
		title = "Modify Backup Configuration"
	}
	if f.Name == "" {
		f.Errors["name"] = "name is not set; give the configuration a name (datacenters refer to it)"
	}
	if len(f.Errors) == 0 {
		sc, err := s.storage.check(f.item(base))
		if err == nil {
			err = s.storage.put(sc, !f.Edit)
		}
		if err == nil {
			code := "storage-created"
			if f.Edit {
				code = "storage-modified"
			}
			s.log.Info("console: storage configuration saved", "storage", sc.Name, "provider", sc.Properties.StorageProvider)
			redirectDone(w, r, "/storage", code, sc.Name)
			return
		}
		f.setError(err)
	}
	s.render(w, http.StatusUnprocessableEntity, "storage_form", s.view(r, "storage", cl.Name, title, f))
}

type storageDeleteData struct {
	Entry storageEntry
	Error string
}

func (s *Server) storageDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	e, ok := s.storage.get(r.PathValue("name"))
	if !ok {
		s.notFound(w, r, "no storage configuration "+strconv.Quote(r.PathValue("name")))
		return
	}
	cl := s.cluster(r.URL.Query().Get("cluster"))
	s.render(w, http.StatusOK, "storage_delete", s.view(r, "storage", cl.Name, "Delete Backup Configuration", storageDeleteData{Entry: e}))
}

func (s *Server) storageDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	e, ok := s.storage.get(name)
	if !ok {
		s.notFound(w, r, "no storage configuration "+strconv.Quote(name))
		return
	}
	if err := s.storage.remove(name); err != nil {
		cl := s.cluster(r.URL.Query().Get("cluster"))
		s.render(w, http.StatusConflict, "storage_delete", s.view(r, "storage", cl.Name, "Delete Backup Configuration",
			storageDeleteData{Entry: e, Error: fileerr.OneLine(err.Error())}))
		return
	}
	s.log.Info("console: storage configuration deleted", "storage", name)
	redirectDone(w, r, "/storage", "storage-deleted", name)
}

// validName reports whether s is a name the console accepts in links and
// notices: a backup or Kubernetes object name.
func validName(s string) bool { return engine.ValidateName("name", s) == nil }
