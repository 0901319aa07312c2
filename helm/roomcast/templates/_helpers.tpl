{{/* Names and labels. */}}

{{- define "roomcast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "roomcast.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "roomcast.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "roomcast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "roomcast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "roomcast.labels" -}}
helm.sh/chart: {{ include "roomcast.chart" . }}
{{ include "roomcast.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | toString | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: roomcast
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations of every object, merged with the object's own (given as "own"): nothing, or a
newline and the indented block. */}}
{{- define "roomcast.annotations" -}}
{{- $all := merge (deepCopy (.own | default dict)) (deepCopy (.root.Values.commonAnnotations | default dict)) -}}
{{- with $all }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end -}}

{{- define "roomcast.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "roomcast.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "roomcast.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The label that lets a pod reach the gRPC port (and HTTP, when networkPolicy.allowExternal is false). */}}
{{- define "roomcast.clientLabel" -}}
{{- printf "%s-client" (include "roomcast.fullname" . | trunc 56 | trimSuffix "-") -}}
{{- end -}}

{{/* Settings. */}}

{{/* Where the files of `files` are mounted. */}}
{{- define "roomcast.filesDir" -}}/etc/roomcast{{- end -}}

{{/* Where the Secret of `tls.existingSecret` is mounted (a directory of its own: a Secret
volume swaps its `..data` link on renewal, which roomcastd's reload check sees). */}}
{{- define "roomcast.tlsDir" -}}/etc/roomcast-tls{{- end -}}

{{/* Where the Secret of `apiKeys.existingSecret` is mounted (its own directory, for the same
`..data` swap). */}}
{{- define "roomcast.apiKeysDir" -}}/etc/roomcast-api-keys{{- end -}}

{{/*
The ConfigMap's data as JSON: every key of .Values.config as a string (numbers
without exponents, lists joined by commas), plus the paths of the mounted files.
*/}}
{{- define "roomcast.configData" -}}
{{- $data := dict -}}
{{- range $env, $value := .Values.config -}}
{{- if kindIs "slice" $value -}}
{{- $_ := set $data $env (join "," $value) -}}
{{- else if kindIs "invalid" $value -}}
{{- $_ := set $data $env "" -}}
{{- else if kindIs "float64" $value -}}
{{- /* toJson writes a float64 8388608 as 8388608, toString as 8.388608e+06. */ -}}
{{- $_ := set $data $env (toJson $value) -}}
{{- else -}}
{{- /* Strings, booleans, int64 (--set) and json.Number (the chart's values.yaml). */ -}}
{{- $_ := set $data $env (toString $value) -}}
{{- end -}}
{{- end -}}
{{- if .Values.files.jwtPublicKey -}}
{{- $_ := set $data "ROOMCAST_JWT_PUBLIC_KEY_FILE" (printf "%s/jwt-public-key.pem" (include "roomcast.filesDir" .)) -}}
{{- end -}}
{{- if .Values.files.roomPolicy -}}
{{- $_ := set $data "ROOMCAST_ROOM_POLICY" (printf "%s/room-policy.json" (include "roomcast.filesDir" .)) -}}
{{- end -}}
{{- with .Values.tls -}}
{{- if .existingSecret -}}
{{- $_ := set $data "ROOMCAST_TLS_CERT_FILE" (printf "%s/%s" (include "roomcast.tlsDir" $) .certKey) -}}
{{- $_ := set $data "ROOMCAST_TLS_KEY_FILE" (printf "%s/%s" (include "roomcast.tlsDir" $) .keyKey) -}}
{{- if .clientCaKey -}}
{{- $_ := set $data "ROOMCAST_TLS_CLIENT_CA_FILE" (printf "%s/%s" (include "roomcast.tlsDir" $) .clientCaKey) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with .Values.apiKeys -}}
{{- if .existingSecret -}}
{{- $_ := set $data "ROOMCAST_API_KEYS_FILE" (printf "%s/%s" (include "roomcast.apiKeysDir" $) .key) -}}
{{- end -}}
{{- end -}}
{{- toJson $data -}}
{{- end -}}

{{/* The secret settings roomcastd knows (README: secret column). */}}
{{- define "roomcast.secretSettings" -}}
{{- toJson (list "INTERNAL_API_KEY" "JWT_SECRET" "NEXTAUTH_SECRET" "ROOMCAST_WEBHOOK_SECRET" "ROOMCAST_ADMIN_PASSWORD_HASH" "DATABASE_URL" "REDIS_URL") -}}
{{- end -}}

{{/*
Where each configured secret setting comes from, as JSON: {"ENV": {"name": secret, "key": key}}:
the key secrets.existingSecretKeys.ENV of secrets.existingSecretNames.ENV (default
secrets.existingSecret); else secrets.values.ENV in the Secret the chart creates
(secrets.create). Unset settings are absent.
*/}}
{{- define "roomcast.secretRefs" -}}
{{- $refs := dict -}}
{{- $s := .Values.secrets -}}
{{- range $env := include "roomcast.secretSettings" . | fromJsonArray -}}
{{- $key := get ($s.existingSecretKeys | default dict) $env -}}
{{- $name := get ($s.existingSecretNames | default dict) $env | default $s.existingSecret -}}
{{- if and $name $key -}}
{{- $_ := set $refs $env (dict "name" $name "key" $key) -}}
{{- else if and $s.create (get ($s.values | default dict) $env) -}}
{{- $_ := set $refs $env (dict "name" (include "roomcast.fullname" $) "key" $env) -}}
{{- end -}}
{{- end -}}
{{- toJson $refs -}}
{{- end -}}

{{/* Drain arithmetic, as JSON: the seconds that terminationGracePeriodSeconds must cover. */}}
{{- define "roomcast.drain" -}}
{{- $deadlineMs := int64 .Values.config.ROOMCAST_DRAIN_DEADLINE_MS -}}
{{- $deadline := div (add $deadlineMs 999) 1000 -}}
{{- $pre := int64 .Values.drain.preStopSeconds -}}
{{- $margin := int64 .Values.drain.marginSeconds -}}
{{- $needed := add $pre $deadline $margin -}}
{{- $grace := $needed -}}
{{- if not (kindIs "invalid" .Values.terminationGracePeriodSeconds) -}}
{{- $grace = int64 .Values.terminationGracePeriodSeconds -}}
{{- end -}}
{{- toJson (dict "preStop" $pre "deadline" $deadline "margin" $margin "needed" $needed "grace" $grace) -}}
{{- end -}}

{{/* The preStop pause (sleep action on Kubernetes >= 1.30, else exec sleep). */}}
{{- define "roomcast.preStop" -}}
{{- $seconds := int64 .Values.drain.preStopSeconds -}}
{{- $action := .Values.drain.preStopAction -}}
{{- if eq $action "auto" -}}
{{- $action = ternary "sleep" "exec" (semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- if eq $action "sleep" -}}
sleep:
  seconds: {{ $seconds }}
{{- else -}}
exec:
  command: ["sleep", "{{ $seconds }}"]
{{- end }}
{{- end -}}
