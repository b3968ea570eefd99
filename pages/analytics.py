"""placeholder, replaced by its owner."""

import streamlit as st

st.title("analytics")
