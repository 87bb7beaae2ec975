{{/*
Names and labels, computed the way the real scalardb-cluster chart computes them:
fullname is "<release>-<chart>" unless the release name already contains the chart name.
*/}}
{{- define "scalardb-cluster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scalardb-cluster.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- $full := printf "%s-%s" .Release.Name $name -}}
{{- if .Values.fullnameOverride -}}
{{- $full = .Values.fullnameOverride -}}
{{- else if contains $name .Release.Name -}}
{{- $full = .Release.Name -}}
{{- end -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scalardb-cluster.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scalardb-cluster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/app: scalardb-cluster
{{- end -}}

{{- define "scalardb-cluster.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "scalardb-cluster.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "scalardb-cluster.serviceAccountName" -}}
{{- .Values.scalardbCluster.serviceAccount.serviceAccountName | default (printf "%s-sa" (include "scalardb-cluster.fullname" .) | trunc 63 | trimSuffix "-") -}}
{{- end -}}
