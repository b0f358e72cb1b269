"""An inventory service in the style of a FastAPI app.

The endpoints are coroutines, so every `requests.get`, `subprocess` call or file
operation below blocks the whole server while it runs. This module imports no asyncio:
loopsafe adds `import asyncio` below the existing imports.
"""
from __future__ import annotations

import os
import subprocess

import httpx
import requests
from fastapi import FastAPI, HTTPException

app = FastAPI(title="inventory")

PRICING_API = "https://pricing.internal/v2"
EXPORT_DIR = "/srv/exports"


@app.get("/items/{sku}")
async def get_item(sku: str) -> dict:
    item = requests.get(f"{PRICING_API}/items/{sku}", timeout=5).json()
    if not item:
        raise HTTPException(status_code=404, detail=f"unknown sku {sku}")
    return item


@app.post("/items/{sku}/price")
async def set_price(sku: str, price: float) -> dict:
    response = httpx.post(
        f"{PRICING_API}/items/{sku}/price",
        json={"price": price},  # cents are converted upstream
        timeout=5.0,
    )
    return {"status": response.status_code}


@app.get("/exports")
async def list_exports() -> list[str]:
    return sorted(name for name in os.listdir(EXPORT_DIR) if name.endswith(".csv"))


@app.post("/exports/{name}/archive")
async def archive_export(name: str) -> dict:
    source = os.path.join(EXPORT_DIR, name)
    os.rename(source, source + ".archived")
    return {"archived": name}


@app.get("/health")
async def health() -> dict:
    version = subprocess.getoutput("git rev-parse --short HEAD")
    upstream_ok = requests.head(PRICING_API, timeout=2).status_code < 500
    return {"version": version, "upstream": upstream_ok}


@app.get("/health/sync")
def health_sync() -> dict:
    # A plain endpoint: FastAPI runs it in a thread pool, so blocking is fine here.
    return {"upstream": requests.head(PRICING_API, timeout=2).ok}


async def admin_console() -> None:
    """A small interactive console for operators."""
    while True:
        command = input("inventory> ")
        if command in {"quit", "exit"}:
            break
        print(subprocess.check_output(["sh", "-c", command], text=True))
