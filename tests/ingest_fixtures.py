"""Hand-built CRM export fixtures for the ingest tests (no real data).

Planted facts the tests recover:

* Salesforce: AE ``AE1`` wins 15 of 20 closed deals, ``AE2`` 5 of 20; 3 open deals;
  one deleted opportunity. BDR ``BDR1`` books 6 parent meetings for AE1 (2 with
  child copies), one future meeting, one cancelled; AE2 books one for himself.
* HubSpot: the same win rates through deal stages and owner names.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

AS_OF = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)


def sfid(id15: str) -> str:
    """The 18-char id of a 15-char id (pure Python, independent of the package)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = sum(
            1 << i for i, ch in enumerate(id15[5 * chunk : 5 * chunk + 5]) if "A" <= ch <= "Z"
        )
        suffix += alphabet[bits]
    return id15 + suffix


ROLE_BDR, ROLE_AE = sfid("00E000000000001"), sfid("00E0000000000Ae")
USERS = {
    "BDR1": sfid("0050000000000Bd"),
    "AE1": sfid("0050000000000Ae"),
    "AE2": sfid("005000000000AeT"),
    "BOT": sfid("0050000000000Zz"),
}
QUEUE = sfid("00G000000000001")
NULL = "000000000000000AAA"
FOOTER = [
    "",
    '"Grand Totals (12 records)"',
    '"Confidential Information - Do Not Distribute"',
    '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
]


def fifteen(id18: str) -> str:
    """The 15-char (case-sensitive) form of an 18-char id."""
    return id18[:15]


def write_csv(
    path: Path,
    header: list[str],
    rows: list[list[object]],
    *,
    encoding: str = "utf-8",
    footer: bool = False,
    quote_all: bool = True,
) -> Path:
    """Write rows as a Salesforce-style CSV (every value quoted)."""
    buf = io.StringIO()
    writer = csv.writer(
        buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\r\n"
    )
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    text = buf.getvalue() + ("\r\n".join(FOOTER) + "\r\n" if footer else "")
    path.write_bytes(text.encode(encoding))
    return path


def opp_id(i: int) -> str:
    return sfid(f"006000000Op{i:04d}")


def salesforce_export(folder: Path, *, with_users: bool = True) -> Path:
    """A Data Export folder with every quirk the adapter handles."""
    folder.mkdir(parents=True, exist_ok=True)
    base = datetime(2026, 7, 1, 9, 0)
    fmt = "%Y-%m-%d %H:%M:%S"
    if with_users:
        write_csv(
            folder / "UserRole.csv",
            ["Id", "Name", "ParentRoleId"],
            [[ROLE_BDR, "EMEA SDR", NULL], [ROLE_AE, "EMEA Account Executive", NULL]],
        )
        write_csv(
            folder / "User.csv",
            [
                "Id",
                "Username",
                "FirstName",
                "LastName",
                "IsActive",
                "TimeZoneSidKey",
                "UserRoleId",
                "UserType",
                "ManagerId",
            ],
            [
                [
                    USERS["BDR1"],
                    "b1@x",
                    "Bea",
                    "Dahl",
                    "1",
                    "Europe/Berlin",
                    ROLE_BDR,
                    "Standard",
                    NULL,
                ],
                [USERS["AE1"], "a1@x", "Ada", "Eng", "1", "Europe/Berlin", ROLE_AE, "Standard", ""],
                [
                    USERS["AE2"],
                    "a2@x",
                    "Al",
                    "Eng",
                    "1",
                    "Europe/London",
                    fifteen(ROLE_AE),
                    "Standard",
                    NULL,
                ],
                [
                    USERS["BOT"],
                    "bot@x",
                    "",
                    "Automated",
                    "1",
                    "GMT",
                    NULL,
                    "AutomatedProcess",
                    NULL,
                ],
            ],
        )
    # Opportunities (ALL-CAPS headers, as old Data Loader writes them): AE1 15/20, AE2 5/20, 3 open, 1 deleted
    opp_header = [
        "ID",
        "ISDELETED",
        "OWNERID",
        "NAME",
        "STAGENAME",
        "AMOUNT",
        "CLOSEDATE",
        "TYPE",
        "LEADSOURCE",
        "ISCLOSED",
        "ISWON",
        "CREATEDDATE",
        "LOSS_REASON__C",
        "SPINE_SITUATION__C",
        "SYSTEMMODSTAMP",
    ]
    opps, hist = [], []
    i = 0
    for owner, wins, losses in (("AE1", 15, 5), ("AE2", 5, 15)):
        for k in range(wins + losses):
            i += 1
            won = k < wins
            created = base + timedelta(days=i % 20)
            close = (created + timedelta(days=20)).date()
            stage = "Closed Won" if won else "Closed Lost"
            oid = opp_id(i)
            opps.append(
                [
                    fifteen(oid) if i % 4 == 0 else oid,
                    "0",
                    USERS[owner] if i % 3 else fifteen(USERS[owner]),
                    f"Deal {i}",
                    stage,
                    f"{1000 + i}.5",
                    f"{close} 00:00:00",
                    "New Business",
                    "Web",
                    "1",
                    "1" if won else "0",
                    created.strftime(fmt),
                    None if won else "Price",
                    "Growing team" if i % 2 else "",
                    created.strftime(fmt),
                ]
            )
            hist += [
                [f"0080000000{i:05d}1AAA", oid, created.strftime(fmt), "Prospecting", "1000", "0"],
                [
                    f"0080000000{i:05d}2AAA",
                    oid,
                    (created + timedelta(hours=1)).strftime(fmt),
                    "Prospecting",
                    "2000",
                    "0",
                ],
                [
                    f"0080000000{i:05d}3AAA",
                    oid,
                    (created + timedelta(days=20)).strftime(fmt),
                    stage,
                    "2000",
                    "0",
                ],
            ]
    for k in range(3):
        i += 1
        oid = opp_id(i)
        opps.append(
            [
                oid,
                "0",
                USERS["AE1"],
                f"Open {k}",
                "Negotiation/Review",
                "",
                "2026-12-01 00:00:00",
                "",
                "",
                "0",
                "0",
                base.strftime(fmt),
                "",
                "",
                base.strftime(fmt),
            ]
        )
        hist.append(
            [f"0080000000{i:05d}1AAA", oid, base.strftime(fmt), "Negotiation/Review", "", "0"]
        )
    i += 1
    opps.append(
        [
            opp_id(i),
            "1",
            USERS["AE2"],
            "Deleted",
            "Closed Won",
            "1",
            "2026-08-01 00:00:00",
            "",
            "",
            "1",
            "1",
            base.strftime(fmt),
            "",
            "",
            base.strftime(fmt),
        ]
    )
    write_csv(folder / "Opportunity.csv", opp_header, opps)
    hist.append(
        ["0080000000999991AAA", opp_id(1), base.strftime(fmt), "Prospecting", "1", "1"]
    )  # deleted history row
    write_csv(
        folder / "OpportunityHistory.csv",
        ["Id", "OpportunityId", "CreatedDate", "StageName", "Amount", "IsDeleted"],
        hist,
    )
    # Tasks: Windows-1252, report footer, no TaskSubtype; one queue-owned, one deleted
    task_header = [
        "Id",
        "WhoId",
        "WhatId",
        "Subject",
        "ActivityDate",
        "Status",
        "OwnerId",
        "Description",
        "Type",
        "IsDeleted",
        "CreatedDate",
        "EmailMessageId",
        "CallDurationInSeconds",
        "CallType",
        "CallDisposition",
        "CompletedDateTime",
    ]
    tasks = [
        [
            "00T000000000001AAA",
            "00Q000000000001AAA",
            opp_id(1),
            "Call",
            "2026-07-02 00:00:00",
            "Completed",
            USERS["BDR1"],
            "Réunion prévue",
            "Call",
            "0",
            "2026-07-02 10:00:00",
            NULL,
            "120",
            "Outbound",
            "Left voicemail",
            "2026-07-02 10:05:00",
        ],
        [
            "00T000000000002AAA",
            "00Q000000000001AAA",
            NULL,
            "Email: intro",
            "",
            "Completed",
            USERS["BDR1"],
            "",
            "",
            "0",
            "2026-07-02 11:00:00",
            "02s000000000001AAA",
            "",
            "",
            "",
            "",
        ],
        [
            "00T000000000003AAA",
            NULL,
            NULL,
            "Call: follow up",
            "",
            "Completed",
            USERS["BDR1"],
            "",
            "",
            "0",
            "2026-07-02 12:00:00",
            NULL,
            "",
            "",
            "Connected",
            "",
        ],
        [
            "00T000000000004AAA",
            NULL,
            NULL,
            "Send contract",
            "2026-07-03 00:00:00",
            "Not Started",
            USERS["AE1"],
            "",
            "",
            "0",
            "2026-07-02 13:00:00",
            NULL,
            "",
            "",
            "",
            "",
        ],
        [
            "00T000000000005AAA",
            NULL,
            NULL,
            "Dial",
            "",
            "Completed",
            USERS["BDR1"],
            "",
            "",
            "0",
            "2026-07-02 14:00:00",
            NULL,
            "35",
            "Outbound",
            "No answer",
            "",
        ],
        [
            "00T000000000006AAA",
            NULL,
            NULL,
            "Queue work",
            "",
            "Completed",
            QUEUE,
            "",
            "",
            "0",
            "2026-07-02 15:00:00",
            NULL,
            "",
            "",
            "",
            "",
        ],
        [
            "00T000000000007AAA",
            NULL,
            NULL,
            "Deleted",
            "",
            "Completed",
            USERS["AE1"],
            "",
            "Call",
            "1",
            "2026-07-02 16:00:00",
            NULL,
            "",
            "",
            "",
            "",
        ],
    ]
    write_csv(folder / "Task.csv", task_header, tasks, encoding="cp1252", footer=True)
    # Events: no StartDateTime (Data Export); parents, children, queue, self-booked, future, cancelled, all-day
    ev_header = [
        "Id",
        "WhoId",
        "WhatId",
        "Subject",
        "IsAllDayEvent",
        "ActivityDateTime",
        "ActivityDate",
        "DurationInMinutes",
        "OwnerId",
        "ShowAs",
        "IsDeleted",
        "IsChild",
        "CreatedDate",
        "CreatedById",
        "SystemModstamp",
    ]
    ev = []
    for k in range(6):
        at = (base + timedelta(days=k + 3)).strftime(fmt)
        ev.append(
            [
                f"00U00000000000{k}AAA",
                "00Q000000000001AAA",
                opp_id(k + 1),
                "Discovery",
                "0",
                at,
                "",
                "30",
                USERS["AE1"],
                "Busy",
                "0",
                "0",
                (base + timedelta(days=k)).strftime(fmt),
                USERS["BDR1"],
                "2026-09-30 08:00:00",
            ]
        )
    ev += [
        [
            "00U000000000010AAA",
            NULL,
            NULL,
            "Discovery",
            "0",
            ev[0][5],
            "",
            "30",
            USERS["BDR1"],
            "Busy",
            "0",
            "1",
            ev[0][12],
            USERS["BDR1"],
            ev[0][14],
        ],
        [
            "00U000000000011AAA",
            NULL,
            NULL,
            "Discovery",
            "0",
            ev[1][5],
            "",
            "30",
            USERS["BDR1"],
            "Busy",
            "0",
            "1",
            ev[1][12],
            USERS["BDR1"],
            ev[1][14],
        ],
        [
            "00U000000000012AAA",
            NULL,
            NULL,
            "Demo",
            "0",
            "2026-10-15 09:00:00",
            "",
            "60",
            USERS["AE1"],
            "Busy",
            "0",
            "0",
            "2026-09-01 09:00:00",
            USERS["BDR1"],
            ev[0][14],
        ],
        [
            "00U000000000013AAA",
            NULL,
            NULL,
            "Canceled: Demo",
            "0",
            "2026-08-15 09:00:00",
            "",
            "60",
            USERS["AE1"],
            "Busy",
            "0",
            "0",
            "2026-08-01 09:00:00",
            fifteen(USERS["BDR1"]),
            ev[0][14],
        ],
        [
            "00U000000000014AAA",
            NULL,
            NULL,
            "Own prep",
            "1",
            "",
            "2026-08-20 00:00:00",
            "1440",
            USERS["AE2"],
            "Busy",
            "0",
            "0",
            "2026-08-01 09:00:00",
            USERS["AE2"],
            ev[0][14],
        ],
        [
            "00U000000000015AAA",
            NULL,
            NULL,
            "Team sync",
            "0",
            "2026-08-21 09:00:00",
            "",
            "30",
            QUEUE,
            "Busy",
            "0",
            "0",
            "2026-08-01 09:00:00",
            USERS["AE2"],
            ev[0][14],
        ],
        [
            "00U000000000016AAA",
            NULL,
            NULL,
            "Vacation",
            "1",
            "",
            "2026-08-22 00:00:00",
            "1440",
            USERS["AE2"],
            "OutOfOffice",
            "0",
            "0",
            "2026-08-01 09:00:00",
            USERS["AE2"],
            ev[0][14],
        ],
    ]
    write_csv(folder / "Event.csv", ev_header, ev)
    write_csv(folder / "Lead.csv", ["Id", "LastName"], [["00Q000000000001AAA", "Boxer"]])
    return folder


ROLES_TOML = """
[[rules]]
match = "(?i)^(?P<team>\\\\w+) (sdr|bdr)$"
role = "BDR"

[[rules]]
match = "(?i)^(?P<team>\\\\w+) account executive$"
role = "AE"
"""


def roles_file(folder: Path) -> Path:
    path = folder / "roles.toml"
    path.write_text(ROLES_TOML)
    return path


# ------------------------------------------------------------------ HubSpot --
OWNERS = [
    ("101", "Bea", "Dahl", "bea@x.io", "EMEA BDR"),
    ("201", "Ada", "Eng", "ada@x.io", "EMEA AE"),
    ("202", "Al", "Eng", "al@x.io", "EMEA AE"),
]


def hubspot_export(folder: Path) -> Path:
    """HubSpot UI exports (label headers, owner names) plus owners.csv from the API."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(
        folder / "owners.csv",
        ["id", "firstName", "lastName", "email", "teams", "archived"],
        [[*o, "false"] for o in OWNERS],
    )
    deals = []
    i = 0
    for owner, wins, losses in (("Ada Eng", 15, 5), ("Al Eng", 5, 15)):
        for k in range(wins + losses):
            i += 1
            won = k < wins
            stage = "Closed won" if won else "Closed lost"
            deals.append(
                [
                    str(900000000000 + i),
                    f"Deal {i}",
                    stage,
                    "2026-08-20",
                    owner,
                    f"{500 + i}",
                    "Sales Pipeline",
                    "2026-07-01 09:00",
                    "2026-07-01 09:00",
                    "2026-07-10 10:00" if i % 2 else "",
                    "2026-08-20 12:00" if won else "",
                    "" if won else "2026-08-20 12:00",
                ]
            )
    deals.append(
        [
            str(900000000999),
            "Open",
            "Appointment scheduled",
            "",
            "Ada Eng",
            "",
            "Sales Pipeline",
            "2026-07-01 09:00",
            "2026-07-01 09:00",
            "",
            "",
            "",
        ]
    )
    write_csv(
        folder / "hubspot-crm-exports-all-deals-2026-09-30.csv",
        [
            "Record ID",
            "Deal Name",
            "Deal Stage",
            "Close Date",
            "Deal owner",
            "Amount",
            "Pipeline",
            "Create Date",
            'Date entered "Appointment scheduled (Sales Pipeline)"',
            'Date entered "Qualified to buy (Sales Pipeline)"',
            'Date entered "Closed won (Sales Pipeline)"',
            'Date entered "Closed lost (Sales Pipeline)"',
        ],
        deals,
    )
    write_csv(
        folder / "hubspot-crm-exports-all-calls-2026-09-30.csv",
        [
            "Record ID",
            "Activity date",
            "Activity assigned to",
            "Call Title",
            "Call notes",
            "Call outcome",
            "Call duration",
            "Associated Deal IDs",
        ],
        [
            [
                "5001",
                "2026-07-02 10:00",
                "Bea Dahl",
                "Cold call",
                "",
                "Connected",
                "125000",
                "900000000001",
            ],
            ["5002", "2026-07-02 10:30", "Bea Dahl", "Cold call", "", "No answer", "15000", ""],
            [
                "5003",
                "2026-07-02 11:00",
                "bea@x.io",
                "Cold call",
                "",
                "Left voicemail",
                "30000",
                "",
            ],
            ["5004", "2026-07-02 11:30", "Ghost Rep", "Cold call", "", "Busy", "0", ""],
        ],
    )
    write_csv(
        folder / "hubspot-crm-exports-all-meetings-2026-09-30.csv",
        [
            "Record ID",
            "Activity date",
            "Activity assigned to",
            "Created by",
            "Meeting name",
            "Meeting start time",
            "Meeting outcome",
            "Create Date",
        ],
        [
            [
                "7001",
                "2026-07-05 09:00",
                "Ada Eng",
                "Bea Dahl",
                "Discovery",
                "2026-07-05 09:00",
                "Completed",
                "2026-07-01 09:00",
            ],
            [
                "7002",
                "2026-07-06 09:00",
                "Ada Eng",
                "Bea Dahl",
                "Discovery",
                "2026-07-06 09:00",
                "No Show",
                "2026-07-01 10:00",
            ],
            [
                "7003",
                "2026-07-07 09:00",
                "Ada Eng",
                "Bea Dahl",
                "Discovery",
                "2026-07-07 09:00",
                "Canceled",
                "2026-07-01 11:00",
            ],
            [
                "7004",
                "2026-07-08 09:00",
                "Ada Eng",
                "Bea Dahl",
                "Discovery",
                "2026-07-08 09:00",
                "Rescheduled",
                "2026-07-01 12:00",
            ],
            [
                "7005",
                "2026-07-09 09:00",
                "Al Eng",
                "Al Eng",
                "Own demo",
                "2026-07-09 09:00",
                "Completed",
                "2026-07-01 13:00",
            ],
        ],
    )
    write_csv(
        folder / "hubspot-crm-exports-all-notes-2026-09-30.csv",
        ["Record ID", "Activity date", "Activity assigned to", "Note body"],
        [["8001", "2026-07-03 09:00", "Ada Eng", "Budget approved"]],
    )
    write_csv(
        folder / "hubspot-crm-exports-all-tasks-2026-09-30.csv",
        ["Record ID", "Due date", "Activity assigned to", "Task Title", "Task status", "Task type"],
        [["9001", "2026-07-04 09:00", "Al Eng", "Send quote", "COMPLETED", "TODO"]],
    )
    write_csv(
        folder / "hubspot-crm-exports-all-emails-2026-09-30.csv",
        [
            "Record ID",
            "Activity date",
            "Activity assigned to",
            "Email subject",
            "Email body",
            "Email status",
        ],
        [
            ["6001", "2026-07-02 09:00", "Bea Dahl", "Intro", "Hi", "SENT"],
            ["6002", "2026-07-02 09:05", "Bea Dahl", "Intro", "Hi", "BOUNCED"],
        ],
    )
    return folder


# ---------------------------------------------------------------- Fivetran --
def fivetran_tables() -> dict[str, pl.DataFrame]:
    """Fivetran-style Salesforce tables (snake_case, typed, ``_fivetran_deleted``)."""
    ts = lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC)  # noqa: E731
    user = pl.DataFrame(
        {
            "id": [USERS["BDR1"], USERS["AE1"], USERS["AE2"]],
            "first_name": ["Bea", "Ada", "Al"],
            "last_name": ["Dahl", "Eng", "Eng"],
            "user_role_id": [ROLE_BDR, ROLE_AE, ROLE_AE],
            "time_zone_sid_key": ["Europe/Berlin"] * 3,
            "user_type": ["Standard"] * 3,
            "manager_id": [None, None, None],
            "_fivetran_deleted": [False] * 3,
        }
    )
    user_role = pl.DataFrame(
        {
            "id": [ROLE_BDR, ROLE_AE],
            "name": ["EMEA SDR", "EMEA Account Executive"],
            "_fivetran_deleted": [False, False],
        }
    )
    # tasks: 4 in 2026Q3 (one fivetran-deleted), 1 in June, 1 on 2026-06-30 (inside the 1-day margin), 1 in November
    task = pl.DataFrame(
        {
            "id": [f"00T00000000010{k}AAA" for k in range(7)],
            "owner_id": [USERS["BDR1"]] * 7,
            "subject": ["Call", "Email: hi", "Call", "Call", "Call", "Call", "Call"],
            "task_subtype": ["Call", "Email", "Call", "Call", "Call", "Call", "Call"],
            "status": ["Completed"] * 7,
            "who_id": [None] * 7,
            "what_id": [opp_id(1)] + [None] * 6,
            "call_duration_in_seconds": [60.0, None, 30.0, 20.0, 10.0, 5.0, 1.0],
            "call_disposition": ["Connected", None, "No answer", None, None, None, None],
            "created_date": [
                ts("2026-07-02T10:00:00"),
                ts("2026-08-02T10:00:00"),
                ts("2026-09-02T10:00:00"),
                ts("2026-09-03T10:00:00"),
                ts("2026-06-10T10:00:00"),
                ts("2026-06-30T23:00:00"),
                ts("2026-11-10T10:00:00"),
            ],
            "is_deleted": [False] * 7,
            "_fivetran_deleted": [False, False, False, True, False, False, False],
        }
    )
    task = task.with_columns(completed_date_time=pl.col("created_date"))
    event = pl.DataFrame(
        {
            "id": ["00U000000000101AAA", "00U000000000102AAA", "00U000000000103AAA"],
            "owner_id": [USERS["AE1"]] * 3,
            "created_by_id": [USERS["BDR1"]] * 3,
            "subject": ["Discovery"] * 3,
            "start_date_time": [
                ts("2026-07-10T09:00:00"),
                ts("2026-08-10T09:00:00"),
                ts("2026-03-10T09:00:00"),
            ],
            "activity_date_time": [
                ts("2026-07-10T09:00:00"),
                ts("2026-08-10T09:00:00"),
                ts("2026-03-10T09:00:00"),
            ],
            "created_date": [
                ts("2026-07-01T09:00:00"),
                ts("2026-08-01T09:00:00"),
                ts("2026-03-01T09:00:00"),
            ],
            "is_child": [False] * 3,
            "is_deleted": [False] * 3,
            "what_id": [opp_id(1), None, None],
            "_fivetran_deleted": [False] * 3,
        }
    )
    # opportunities: closed in Q3 (AE1 3 won of 4, AE2 1 of 4), one closed in Q1 (out), one open (in)
    rows = []
    for k in range(8):
        rows.append(
            (
                opp_id(k + 1),
                USERS["AE1"] if k < 4 else USERS["AE2"],
                k in (0, 1, 2, 4),
                "2026-08-15",
            )
        )
    opportunity = pl.DataFrame(
        {
            "id": [r[0] for r in rows] + [opp_id(50), opp_id(51)],
            "owner_id": [r[1] for r in rows] + [USERS["AE1"], USERS["AE2"]],
            "stage_name": ["Closed Won" if r[2] else "Closed Lost" for r in rows]
            + ["Closed Won", "Prospecting"],
            "is_closed": [True] * 8 + [True, False],
            "is_won": [r[2] for r in rows] + [True, False],
            "close_date": [datetime.fromisoformat(r[3]).date() for r in rows]
            + [datetime(2026, 2, 1).date(), datetime(2026, 12, 1).date()],
            "created_date": [ts("2026-06-01T09:00:00")] * 8
            + [ts("2026-01-05T09:00:00"), ts("2026-05-01T09:00:00")],
            "amount": [1000.0] * 10,
            "loss_reason_c": [None if r[2] else "Price" for r in rows] + [None, None],
            "is_deleted": [False] * 10,
            "_fivetran_deleted": [False] * 10,
        }
    )
    history = pl.DataFrame(
        {
            "id": [f"008000000000{k:03d}AAA" for k in range(4)],
            "opportunity_id": [opp_id(1), opp_id(1), opp_id(1), opp_id(50)],
            "stage_name": ["Prospecting", "Prospecting", "Closed Won", "Closed Won"],
            "created_date": [
                ts("2026-06-01T09:00:00"),
                ts("2026-06-02T09:00:00"),
                ts("2026-08-15T09:00:00"),
                ts("2026-02-01T09:00:00"),
            ],
            # expected close date: the amount-only change keeps it, the close pushes it
            "close_date": [
                date(2026, 8, 1),
                date(2026, 8, 1),
                date(2026, 8, 15),
                date(2026, 3, 1),
            ],
            "is_deleted": [False] * 4,
            "_fivetran_deleted": [False] * 4,
        }
    )
    tables = {
        "user": user,
        "user_role": user_role,
        "task": task,
        "event": event,
        "opportunity": opportunity,
        "opportunity_history": history,
    }
    return {  # all-null columns are text, as in the warehouse
        name: frame.with_columns(pl.col(pl.Null).cast(pl.String)) for name, frame in tables.items()
    }
