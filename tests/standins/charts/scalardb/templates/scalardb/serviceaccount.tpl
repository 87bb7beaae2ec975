{{- if .Values.scalardb.rbac.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "scalardb.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb.labels" . | nindent 4 }}
  {{- with .Values.scalardb.rbac.serviceAccountAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
