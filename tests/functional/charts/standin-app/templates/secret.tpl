apiVersion: v1
kind: Secret
metadata:
  name: {{ include "standin-app.fullname" . }}
  labels:
    {{- include "standin-app.labels" . | nindent 4 }}
type: Opaque
data:
  password: {{ .Values.secret.password | b64enc | quote }}
