apiVersion: v1
kind: Service
metadata:
  name: {{ include "standin-app.fullname" . }}
  labels:
    {{- include "standin-app.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "standin-app.selector" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "standin-app.fullname" . }}-headless
  labels:
    {{- include "standin-app.labels" . | nindent 4 }}
spec:
  clusterIP: None
  selector:
    {{- include "standin-app.selector" . | nindent 4 }}
  ports:
    - name: admin
      port: {{ .Values.service.adminPort }}
      targetPort: 50053
