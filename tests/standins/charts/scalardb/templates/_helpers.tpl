{{/*
Names and labels, computed the way the real scalardb chart computes them:
fullname is "<release>-<chart>" unless the release name already contains the chart name.
*/}}
{{- define "scalardb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scalardb.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- $full := printf "%s-%s" .Release.Name $name -}}
{{- if .Values.fullnameOverride -}}
{{- $full = .Values.fullnameOverride -}}
{{- else if contains $name .Release.Name -}}
{{- $full = .Release.Name -}}
{{- end -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scalardb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scalardb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/app: scalardb
{{- end -}}

{{- define "scalardb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "scalardb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Secret with db-username/db-password: the chart's own one unless scalardb.existingSecret is set. */}}
{{- define "scalardb.dbSecretName" -}}
{{- .Values.scalardb.existingSecret | default (printf "%s-secret" (include "scalardb.fullname" .)) -}}
{{- end -}}
