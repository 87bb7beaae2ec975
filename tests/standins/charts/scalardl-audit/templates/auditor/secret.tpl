{{- if not .Values.auditor.existingSecret }}
{{- $cfg := .Values.auditor.scalarAuditorConfiguration }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "scalardl-audit.dbSecretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardl-audit.labels" . | nindent 4 }}
type: Opaque
data:
  db-username: {{ $cfg.dbUsername | toString | b64enc | quote }}
  db-password: {{ $cfg.dbPassword | toString | b64enc | quote }}
{{- end }}
