apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "standin-app.fullname" . }}
  labels:
    {{- include "standin-app.labels" . | nindent 4 }}
data:
  app.properties: |
    greeting={{ .Values.config.greeting }}
