"""Reconciliation (admins): the providers' own bills against what Parley recorded, per day x
model, with the drift that raises an alert; and the recorder's proof (``db verify``'s counts)."""
import datetime as dt

import pandas as pd
import streamlit as st

from core.config.alerts import AlertSettings
from core.console.reconcile import drifted, reconcile
from core.recording.verify import verify_recording
from ui import charts, tables
from ui.deps import service
from ui.state import require_admin

require_admin()
st.title("Reconciliation")
svc = service()
store = svc.store
if store is None:
    st.error("No call store is configured, so there is nothing to reconcile; set PARLEY_DATABASE_URL.")
    st.stop()

st.subheader("Recording")
report = verify_recording(svc.recorder.spool_dir, store)
for col, (name, count) in zip(st.columns(4), report.counts.items()):
    col.metric(name.replace("_", " ").capitalize(), f"{count:,}")
if report.ok:
    st.success("Every answered call in this machine's journal is in the store exactly once, and "
               "the rollups equal their rows.")
else:
    st.error(f"Recording mismatch: {len(report.missing)} missing, {len(report.doubled)} doubled, "
             f"{len(report.stuck)} stuck, {report.failed} refused, "
             f"{len(report.rollup_mismatches)} rollup groups off. Run `python -m core db verify`.")

st.subheader("The provider's bill")
today = dt.datetime.now(dt.timezone.utc).date()
since = st.date_input("From", value=today - dt.timedelta(days=30), max_value=today,
                      key="reconcile_since")
rows = reconcile(store, since)
if not rows:
    st.info("No provider bill is imported for these days. Import one with "
            "`python -m core reconcile import FILE --provider openai|anthropic|gemini|openrouter`.")
    st.stop()
frame = pd.DataFrame(rows)
frame["drift"] = frame["percent"].astype("float64") / 100.0
st.plotly_chart(charts.reconciliation(frame))
alerts = AlertSettings.from_config(svc.settings.alerts)
threshold = alerts.reconcile_drift_pct if alerts is not None else 5.0
off = drifted(rows, threshold)
if off:
    rows_off = "1 day and model is" if len(off) == 1 else f"{len(off)} days and models are"
    st.warning(f"{rows_off} off the bill by more than {threshold:g}%"
               + ("; an alert is sent for each." if alerts is not None else
                  " (set parley.alerts to be told)."))
# What the provider put in its responses (OpenRouter's usage.cost): a column only when any did.
said = ["provider_reported"] if frame["provider_reported"].notna().any() else []
tables.show(frame, key="reconcile_table",
            columns=["day", "provider", "model", "calls", "billed", "recorded", "difference",
                     "drift", *said])
with st.expander("Token classes behind each row"):
    classes = pd.DataFrame([{"day": r["day"], "provider": r["provider"], "model": r["model"],
                             "billed by class": ", ".join(f"{k} ${v:,.4f}" for k, v in
                                                          sorted(r["billed_classes"].items())),
                             "billed tokens": str(r["billed_tokens"] or "–"),
                             "recorded tokens": str(r["recorded_tokens"] or "–")} for r in rows])
    st.dataframe(classes, hide_index=True, width="stretch")
