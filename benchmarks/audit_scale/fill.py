"""Filling a database: ``migrate``, the world's objects, the audit events drawn from the world (written with
``COPY``), ``VACUUM ANALYZE``."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

from benchmarks.audit_scale.databases import AUDIT_TABLE, ROUTE
from benchmarks.audit_scale.world import USER_AGENTS, Picker, World, aware, write_objects

#: How often each event happens, per 10,000 events: mostly API token uses, logins and refreshes, invite
#: checks; some failures; a long tail of rare events. Every name is one of ``signals.REGISTRY``.
EVENT_MIX = {
    "api_token_usado": 3200,
    "login": 1700,
    "token_renovado": 1700,
    "convite_validado": 800,
    "login_falhou": 600,
    "sessao_revogada": 400,
    "convite_gerado": 250,
    "api_token_negado": 200,
    "convite_usado": 200,
    "codigo_gerado": 200,
    "convite_enviado": 150,
    "codigo_validado": 150,
    "convite_validacao_falhou": 100,
    "2fa_falhou": 50,
    "api_token_gerado": 40,
    "convite_uso_falhou": 40,
    "convite_revogado": 40,
    "codigo_falhou": 40,
    "2fa_iniciado": 30,
    "api_token_revogado": 20,
    "api_token_rotacionado": 20,
    "convite_negado": 20,
    "2fa_ativado": 20,
    "convite_cota_excedida": 10,
    "codigos_backup_gerados": 10,
    "refresh_reutilizado": 8,
    "2fa_desativado": 5,
    "2fa_bloqueado": 5,
    "2fa_desbloqueado": 2,
    "webhook_falhou": 3,
}


def generate_events(world: World, count: int, seed: int) -> list[tuple]:
    """``count`` audit rows drawn from the world, and the events of the user kept alike, as COPY rows, ids in
    roughly the order of their times."""
    rng = random.Random(seed)
    now, year = world.now, 365 * 86400.0
    names = list(EVENT_MIX)
    name_pick = Picker([EVENT_MIX[name] for name in names], rng)
    user_pick = Picker(world.activity, rng)
    people_pick = Picker([weight**0.5 for weight in world.activity], rng)
    # A few tokens (scripts and integrations) are used far more than the rest, whoever owns them.
    token_rank = list(range(len(world.tokens)))
    rng.shuffle(token_rank)
    token_pick = Picker([1.0 / (token_rank[n] + 1) ** 0.8 for n in range(len(world.tokens))], rng)
    ip_pick = Picker([1.0 / (n + 1) ** 0.8 for n in range(len(world.ips))], rng)
    agents = [agent for agent, _ in USER_AGENTS]
    agent_pick = Picker([weight for _, weight in USER_AGENTS], rng)
    revoked_tokens = [token for token in world.tokens if token["revoked"] is not None]
    used_invites = [invite for invite in world.invites if invite["used"] is not None]
    revoked_invites = [invite for invite in world.invites if invite["revoked"] is not None]
    gestores = [user for user, role in enumerate(world.roles) if role == "gestor"]
    uniform, choice = rng.uniform, rng.choice

    def anywhen() -> float:
        return now - uniform(1, year)

    def between(start: float, end: float) -> float:
        """A time from ``start`` to ``end``, before now: times are drawn, never clamped (a clamp would pile
        events onto one instant, and a cursor over tied times pages by offset)."""
        return uniform(start, min(end, now - 1))

    def token_event(name: str) -> tuple:
        token = world.tokens[token_pick()] if name in ("api_token_usado", "api_token_negado") else choice(world.tokens)
        details = "{}"
        if name == "api_token_usado":
            when = uniform(token["created"], token["end"])
        elif name == "api_token_gerado":
            when = token["created"]
            details = json.dumps({"scope": token["scope"], "nome": token["name"], "expira_em": None})
        elif name == "api_token_revogado":
            token = choice(revoked_tokens)
            when = token["revoked"]
        elif name == "api_token_negado":
            when = uniform(token["created"], now)
            reason = choice(["token_expired", "token_revoked", "ip_not_allowed", "insufficient_scope"])
            details = json.dumps(
                {"motivo": reason, **({"necessario": "write"} if reason == "insufficient_scope" else {})}
            )
        else:  # api_token_rotacionado
            when = uniform(token["created"], token["end"])
            details = json.dumps({"novo": str(choice(world.tokens)["id"]), "expira_em": None})
        return token["owner"], "api_token", str(token["id"]), when, details

    def session_event(name: str) -> tuple:
        if name == "login" and rng.random() < 0.4:  # a login to a Django session: no target
            return people_pick(), "", "", anywhen(), '{"via": "django"}'
        session = choice(world.sessions)
        details = "{}"
        if name == "login":
            when = session["created"]
        elif name == "sessao_revogada":
            when = session["revoked"] or between(session["last"], session["last"] + 3600)
            details = '{"motivo": "logout"}'
        else:
            when = uniform(session["created"], session["last"])
        return session["owner"], "sessao", str(session["id"]), when, details

    def invite_event(name: str) -> tuple:
        invite = choice(world.invites)
        actor, details = invite["issuer"], "{}"
        when = between(invite["created"] + 1, invite["expires"])
        if name == "convite_gerado":
            when = invite["created"]
            details = json.dumps({"tipo_destino": invite["target_type"], "organizacao": None, "nucleos": []})
        elif name == "convite_enviado":
            when = invite["created"] + 1
            details = '{"canal": "email"}'
        elif name == "convite_validado":
            actor = None
        elif name == "convite_usado":
            invite = choice(used_invites)
            actor, when = invite["used_by"], invite["used"]
            details = json.dumps({"tipo_destino": invite["target_type"]})
        elif name == "convite_revogado":
            invite = choice(revoked_invites)
            when = invite["revoked"]
        elif name == "convite_validacao_falhou":
            actor = None
            if rng.random() < 0.5:
                return None, "", "", anywhen(), '{"motivo": "invite_not_found"}'
            late = invite["expires"] < now - 2
            when = between(invite["expires"] + 1, invite["expires"] + 5 * 86400) if late else when
            details = '{"motivo": "invite_expired"}'
        else:  # convite_uso_falhou
            actor = None
            details = '{"motivo": "invite_used"}'
        return actor, "convite", str(invite["id"]), when, details

    def other_event(name: str) -> tuple:
        actor = user_pick()
        when = anywhen()
        if name == "login_falhou":
            informed = f"user{user_pick() + 1:04d}"
            details = json.dumps({"motivo": "invalid_credentials", "usuario_informado": informed})
            return (None if rng.random() < 0.7 else actor), "", "", when, details
        if name in ("convite_negado", "convite_cota_excedida"):
            actor = choice(gestores)
            details = '{"acao": "create_invite", "motivo": "role"}' if name == "convite_negado" else '{"limite": 20}'
            return actor, "", "", when, details
        if name.startswith("codigo_"):
            details = '{"finalidade": "login", "canal": "email"}'
            return actor, "codigo", str(rng.randrange(1, 200000)), when, details
        if name == "webhook_falhou":
            details = json.dumps({"entrega": rng.randrange(1, 10**6), "tentativas": 10, "erro": "timeout"})
            return None, "webhook", str(rng.randrange(1, 10**6)), when, details
        if name == "codigos_backup_gerados":
            return actor, "2fa_backup", str(actor + 1), when, '{"quantidade": 10}'
        if name in ("2fa_bloqueado", "2fa_desbloqueado"):
            return actor, "usuario", str(actor + 1), when, '{"tentativas": 5}'
        details = '{"motivo": "otp_invalid"}' if name == "2fa_falhou" else "{}"
        return actor, "totpdevice", str(actor + 1), when, details

    makers: dict[str, Callable[[str], tuple]] = {}
    for name in names:
        if name.startswith("api_token_"):
            makers[name] = token_event
        elif name in ("login", "token_renovado", "sessao_revogada", "refresh_reutilizado"):
            makers[name] = session_event
        elif name.startswith("convite_") and name not in ("convite_negado", "convite_cota_excedida"):
            makers[name] = invite_event
        else:
            makers[name] = other_event

    drawn = []
    for _ in range(count):
        name = names[name_pick()]
        actor, target_type, target_id, when, details = makers[name](name)
        if name == "webhook_falhou":
            ip, agent = None, ""
        elif actor is not None and rng.random() < 0.85:
            ip = world.home_ips[actor][rng.random() < 0.3]
            agent = world.user_agent[actor] if rng.random() < 0.9 else agents[agent_pick()]
        else:
            ip, agent = world.ips[ip_pick()], agents[agent_pick()]
        # Ids follow the time of the write, give or take: a row may commit a little after a later one.
        drawn.append((when + uniform(0, 30), name, actor, target_type, target_id, ip, agent, when, details))
    drawn += world.steady.events  # the same at every size, among the others in the order of their times
    drawn.sort(key=lambda row: row[0])
    return [
        (n, name, None if actor is None else actor + 1, target_type, target_id, ip, agent, aware(when), details)
        for n, (_, name, actor, target_type, target_id, ip, agent, when, details) in enumerate(drawn, start=1)
    ]


def copy_events(alias: str, rows: list[tuple]) -> None:
    from django.db import connections

    columns = "id, event, actor_id, target_type, target_id, ip, user_agent, created_at, details"
    with connections[alias].cursor() as cursor:
        with cursor.cursor.copy(f"COPY {AUDIT_TABLE} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{AUDIT_TABLE}', 'id'), (SELECT max(id) FROM {AUDIT_TABLE}))"
        )


def fill(alias: str, world: World, events: int, seed: int) -> dict[str, float]:
    """Migrate ``alias``, write the world's objects and ``events`` audit events (and the user kept alike's),
    ``VACUUM ANALYZE``."""
    from django.core.management import call_command
    from django.db import connections

    ROUTE.alias = alias
    timings = {}
    start = time.perf_counter()
    call_command("migrate", database=alias, verbosity=0)
    timings["migrate"] = time.perf_counter() - start
    start = time.perf_counter()
    write_objects(alias, world)
    timings["objects"] = time.perf_counter() - start
    start = time.perf_counter()
    rows = generate_events(world, events, seed)
    timings["generate"] = time.perf_counter() - start
    start = time.perf_counter()
    copy_events(alias, rows)
    timings["copy"] = time.perf_counter() - start
    del rows
    start = time.perf_counter()
    with connections[alias].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    timings["vacuum"] = time.perf_counter() - start
    return timings
