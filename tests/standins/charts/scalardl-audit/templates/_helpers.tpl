{{/*
Names and labels, computed the way the real scalardl-audit chart computes them:
fullname is "<release>-<chart>" unless the release name already contains the chart name.
*/}}
{{- define "scalardl-audit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scalardl-audit.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- $full := printf "%s-%s" .Release.Name $name -}}
{{- if .Values.fullnameOverride -}}
{{- $full = .Values.fullnameOverride -}}
{{- else if contains $name .Release.Name -}}
{{- $full = .Release.Name -}}
{{- end -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scalardl-audit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scalardl-audit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/app: auditor
{{- end -}}

{{- define "scalardl-audit.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "scalardl-audit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Secret with db-username/db-password: the chart's own one unless auditor.existingSecret is set. */}}
{{- define "scalardl-audit.dbSecretName" -}}
{{- .Values.auditor.existingSecret | default (printf "%s-auditor" (include "scalardl-audit.fullname" .)) -}}
{{- end -}}

{{/* Whether the key/certificate Secret is mounted at /keys (as the real chart decides). */}}
{{- define "scalardl-audit.mountKeys" -}}
{{- if and (not .Values.auditor.extraVolumes) (ne .Values.auditor.authentication.method "hmac") }}true{{ end -}}
{{- end -}}
