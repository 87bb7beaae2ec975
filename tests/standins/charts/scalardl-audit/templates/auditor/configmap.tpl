{{- /* auditor.properties.tmpl: rendered into auditor.properties by the container's entrypoint. */}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "scalardl-audit.fullname" . }}-auditor-properties
  namespace: {{ .Release.Namespace }}
data:
  auditor.properties.tmpl:
    {{- .Values.auditor.auditorProperties | toYaml | nindent 4 }}
